using Alicia.Tools.Voice;
using Alicia.Tools.Models;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Security.Identity;
using Alicia.Voice;
using Alicia.Voice.Transport;

namespace Alicia.Voice.Tests;

/// <summary>
/// TLS on the audio port with certificates from our own CA (the broker's server certificate): satellites
/// on tls://, browsers on wss://, and the policy for clients that cannot or will not do TLS.
/// </summary>
public sealed class AudioTlsTests : IDisposable
{
    private static readonly TimeSpan Wait = VoiceEngineHarness.Wait;
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(1);

    private readonly TempDirectory _dir = new("alicia-audio-tls");
    private readonly CertificateAuthority _ca;

    public AudioTlsTests() => _ca = CertificateAuthority.Init(_dir.Sub("ours"));

    private Task<VoiceEngineHarness> StartAsync(bool? requireTls = null) => VoiceEngineHarness.StartAsync(o => o with
    {
        TlsCertificate = _ca.LoadServerCertificate(),
        RequireTls = requireTls,
        TlsHandshakeTimeout = HandshakeTimeout,
    });

    private VoiceSendOptions Trusting(bool webSocket = false) => new() { CaCertificatePath = _ca.CertificatePath, WebSocket = webSocket, Timeout = Wait };

    [Fact]
    public async Task A_satellite_streams_a_command_over_tls_and_gets_the_transcript()
    {
        await using VoiceEngineHarness engine = await StartAsync();
        await using AliciaBus satellite = await engine.ClientAsync("satellite");
        int port = engine.Voice.AudioEndPoint!.Port;
        VoiceSessionResponse offered = await OpenAsync(satellite);
        Assert.Equal($"tls://127.0.0.1:{port}", offered.Endpoint);
        Assert.Equal($"wss://127.0.0.1:{port}/voice", offered.WebSocketEndpoint);

        VoiceSendResult result = await VoiceClient.SendAsync(satellite, VoiceEngineHarness.Command().Pcm, 16000, 1, Trusting());

        AssertOneTranscript(result);
    }

    [Fact]
    public async Task A_browser_style_client_streams_a_command_over_wss_and_gets_the_transcript()
    {
        await using VoiceEngineHarness engine = await StartAsync();
        await using AliciaBus browser = await engine.ClientAsync("browser");

        VoiceSendResult result = await VoiceClient.SendAsync(browser, VoiceEngineHarness.Command().Pcm, 16000, 1, Trusting(webSocket: true));

        AssertOneTranscript(result);
    }

    [Fact]
    public async Task A_client_that_does_not_trust_our_CA_fails_the_handshake_while_a_parallel_TLS_session_completes()
    {
        await using VoiceEngineHarness engine = await StartAsync();
        await using AliciaBus satellite = await engine.ClientAsync("satellite");
        await using AliciaBus stranger = await engine.ClientAsync("stranger");
        var streaming = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IAsyncDisposable watch = await satellite.SubscribeAsync<VoiceSessionStatus>((m, _) =>
        {
            if (m.Data.State == VoiceSessionState.Streaming) streaming.TrySetResult();
            return default;
        });
        using var otherCa = CertificateAuthority.Init(_dir.Sub("theirs"));

        // Paced like a microphone, so the session is mid-stream while the stranger is refused.
        Task<VoiceSendResult> good = VoiceClient.SendAsync(satellite, VoiceEngineHarness.Command().Pcm, 16000, 1, Trusting() with { RealTime = true });
        await streaming.Task.WaitAsync(Wait);
        AuthenticationException e = await Assert.ThrowsAsync<AuthenticationException>(() =>
            VoiceClient.SendAsync(stranger, VoiceEngineHarness.Command().Pcm, 16000, 1, new VoiceSendOptions { CaCertificatePath = otherCa.CertificatePath, Timeout = Wait }));
        AuthenticationException systemRoots = await Assert.ThrowsAsync<AuthenticationException>(() =>
            VoiceClient.SendAsync(stranger, VoiceEngineHarness.Command().Pcm, 16000, 1, new VoiceSendOptions { WebSocket = true, Timeout = Wait }));

        Assert.StartsWith("TLS to the engine's audio port tls://127.0.0.1:", e.Message);
        Assert.Contains($"trusting {otherCa.CertificatePath}): the server's certificate is not trusted by CA 'Alicia Local CA", e.Message);
        Assert.StartsWith("TLS to the engine's audio port wss://127.0.0.1:", systemRoots.Message);
        Assert.Contains("no CA given (Bus:CaCertificatePath), so only the system's roots are trusted", systemRoots.Message);
        // (No engine-side check: a .NET client judges the certificate once its side of the TLS 1.3 handshake
        // is done, so the engine sees a finished handshake and then a hang-up before the token.)
        Assert.False(good.IsCompleted, "the paced session should still be streaming when the stranger is refused");
        AssertOneTranscript(await good.WaitAsync(Wait));
    }

    [Fact]
    public async Task A_plaintext_client_is_refused_with_the_reason_and_its_exposed_token_is_burnt()
    {
        await using VoiceEngineHarness engine = await StartAsync();
        await using AliciaBus satellite = await engine.ClientAsync("satellite");
        const string reason = "TLS is required on this audio port: connect with tls:// (or wss:// from a browser)";
        VoiceSessionResponse session = await OpenAsync(satellite);
        var failed = new TaskCompletionSource<VoiceSessionStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IAsyncDisposable watch = await satellite.SubscribeAsync<VoiceSessionStatus>((m, _) =>
        {
            if (m.Data.SessionId == session.SessionId && m.Data.State == VoiceSessionState.Failed) failed.TrySetResult(m.Data);
            return default;
        });

        VoiceSessionResponse plaintext = WithEndpoint(session, session.Endpoint.Replace("tls://", "tcp://", StringComparison.Ordinal));
        (string? error, int utterances) = await VoiceClient.StreamAsync(plaintext, VoiceEngineHarness.Command().Pcm, 16000, 1, new VoiceSendOptions(), Timeout());
        Assert.Equal(reason, error);
        Assert.Equal(0, utterances);
        Assert.Equal(reason, (await failed.Task.WaitAsync(Wait)).Reason);

        // The token crossed the network in the clear: it must not open the session over TLS afterwards.
        (error, _) = await VoiceClient.StreamAsync(session, VoiceEngineHarness.Command().Pcm, 16000, 1, Trusting(), Timeout());
        Assert.Equal("unknown or already used session token", error);

        // A plaintext WebSocket upgrade gets a 400 naming the same reason.
        string response = await PlaintextHttpAsync(engine.Voice.AudioEndPoint!.Port,
            "GET /voice HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", response);
        Assert.EndsWith("\r\n\r\n" + reason + "\n", response);
    }

    [Fact]
    public async Task A_stalled_TLS_handshake_times_out_without_harming_a_session_beside_it()
    {
        await using VoiceEngineHarness engine = await StartAsync();
        var refused = WatchRefusals(engine, "TLS handshake not finished");
        await using AliciaBus satellite = await engine.ClientAsync("satellite");
        using var stalled = new TcpClient();
        await stalled.ConnectAsync(IPAddress.Loopback, engine.Voice.AudioEndPoint!.Port);
        await stalled.GetStream().WriteAsync(new byte[] { AudioTls.HandshakeRecord, 0x03, 0x01 }); // a record header begun, then nothing

        VoiceSendResult result = await VoiceClient.SendAsync(satellite, VoiceEngineHarness.Command().Pcm, 16000, 1, Trusting());

        AssertOneTranscript(result);
        Assert.Equal("TLS handshake not finished within 1 s", await refused.WaitAsync(Wait));
        Assert.Equal(0, await stalled.GetStream().ReadAsync(new byte[16], Timeout())); // the engine closed it
    }

    [Fact]
    public async Task With_TLS_not_required_plaintext_is_served_from_loopback_while_TLS_is_still_what_is_offered()
    {
        await using VoiceEngineHarness engine = await StartAsync(requireTls: false);
        await using AliciaBus satellite = await engine.ClientAsync("satellite");
        VoiceSessionResponse session = await OpenAsync(satellite);
        Assert.StartsWith("tls://", session.Endpoint);

        VoiceSessionResponse plaintext = WithEndpoint(session, session.Endpoint.Replace("tls://", "tcp://", StringComparison.Ordinal));
        (string? error, int utterances) = await VoiceClient.StreamAsync(plaintext, VoiceEngineHarness.Command().Pcm, 16000, 1, new VoiceSendOptions(), Timeout());

        Assert.Null(error);
        Assert.Equal(1, utterances);
    }

    [Fact]
    public void The_policy_refuses_remote_plaintext_unless_there_is_no_certificate()
    {
        var lan = new IPEndPoint(IPAddress.Parse("192.168.1.20"), 50000);
        var loopback = new IPEndPoint(IPAddress.Parse("::ffff:127.0.0.1"), 50000);

        var optional = new AudioTls(_ca.LoadServerCertificate(), requireTls: false, HandshakeTimeout);
        Assert.Null(optional.RefusePlaintext(loopback));
        Assert.Equal("plaintext audio is accepted from loopback only: connect with tls:// (or wss:// from a browser)", optional.RefusePlaintext(lan));
        var required = new AudioTls(_ca.LoadServerCertificate(), requireTls: null, HandshakeTimeout);
        Assert.True(required.Required);
        Assert.NotNull(required.RefusePlaintext(loopback));
        var none = new AudioTls(null, requireTls: null, HandshakeTimeout);
        Assert.False(none.Enabled);
        Assert.Null(none.RefusePlaintext(lan));
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => new AudioTls(null, requireTls: true, HandshakeTimeout));
        Assert.Contains("TLS is required on the audio port but there is no certificate", e.Message);
    }

    // ---- helpers ----

    private static CancellationToken Timeout() => new CancellationTokenSource(Wait).Token;

    private static void AssertOneTranscript(VoiceSendResult result)
    {
        Assert.Null(result.Error);
        Assert.Equal(1, result.Utterances);
        BusMessage<SttResponse> transcript = Assert.Single(result.Transcripts);
        Assert.Equal(result.SessionId, transcript.Data.SessionId);
    }

    private static async Task<VoiceSessionResponse> OpenAsync(AliciaBus bus)
    {
        VoiceSessionResponse session = (await bus.RequestAsync<VoiceSessionRequest, VoiceSessionResponse>(new VoiceSessionRequest(), "alicia-engine", timeout: Wait)).Data;
        Assert.True(session.Accepted, session.Error);
        return session;
    }

    private static VoiceSessionResponse WithEndpoint(VoiceSessionResponse session, string endpoint) => new()
    {
        Accepted = true, SessionId = session.SessionId, Endpoint = endpoint, WebSocketEndpoint = session.WebSocketEndpoint, Token = session.Token,
        TokenExpiresMs = session.TokenExpiresMs, MaxFrameBytes = session.MaxFrameBytes,
    };

    /// <summary>The first refusal whose reason starts with <paramref name="prefix"/>.</summary>
    private static Task<string> WatchRefusals(VoiceEngineHarness engine, string prefix)
    {
        var refused = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        engine.Voice.ConnectionRefused += (_, reason) =>
        {
            if (reason.StartsWith(prefix, StringComparison.Ordinal)) refused.TrySetResult(reason);
        };
        return refused.Task;
    }

    private static async Task<string> PlaintextHttpAsync(int port, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), Timeout());
        using var response = new MemoryStream();
        await stream.CopyToAsync(response, Timeout());
        return Encoding.UTF8.GetString(response.ToArray());
    }

    public void Dispose()
    {
        _ca.Dispose();
        _dir.Dispose();
    }
}
