using Alicia.Tools.Voice;
using Alicia.Tools.Models;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Voice;
using Alicia.Voice.Audio;
using Alicia.Voice.Transport;
using Xunit.Abstractions;

namespace Alicia.Voice.Tests;

/// <summary>
/// Browser-style clients: the session is opened on the bus, then the same audio frames go over a
/// WebSocket on the audio port (one upgrade handshake, then binary messages). Each test starts its own
/// engine, as the TCP end-to-end tests do.
/// </summary>
public sealed class WebSocketTransportTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = VoiceEngineHarness.Wait;

    [Fact]
    public async Task A_WebSocket_client_streams_a_command_and_gets_the_transcript_segments_and_done()
    {
        await using VoiceEngineHarness engine = await VoiceEngineHarness.StartAsync();
        await using AliciaBus browser = await engine.ClientAsync("browser");
        WavFile speech = TestAudio.Speech("turn on the kitchen light"); // 22050 Hz: converted at the edge

        VoiceSendResult result = await VoiceClient.SendAsync(browser, speech.Pcm, speech.SampleRate, speech.Channels,
            new VoiceSendOptions { DeviceId = "browser-tab", WebSocket = true, Timeout = Wait });

        Assert.Null(result.Error);
        Assert.Equal(1, result.Utterances);
        BusMessage<SttResponse> transcript = Assert.Single(result.Transcripts);
        output.WriteLine($"'{transcript.Data.Text}' {string.Join(", ", transcript.Data.Timings.Select(t => $"{t.Key}={t.Value:0.#}"))}");
        Assert.Equal(result.SessionId, transcript.Data.SessionId);
        Assert.Equal("ok", transcript.Envelope.Metadata!["status"]);
        Assert.Equal("browser-tab", transcript.Envelope.Metadata["device_id"]);
        SpeechSegment segment = Assert.Single(result.Segments);
        Assert.InRange(segment.EndSeconds - segment.StartSeconds, 1.0, speech.DurationSeconds + 0.1);
    }

    [Fact]
    public async Task The_response_names_the_WebSocket_endpoint_and_frames_may_span_or_share_messages()
    {
        await using VoiceEngineHarness engine = await VoiceEngineHarness.StartAsync();
        await using AliciaBus browser = await engine.ClientAsync("browser");
        VoiceSessionResponse session = await OpenAsync(browser);
        Assert.Equal($"ws://127.0.0.1:{engine.Voice.AudioEndPoint!.Port}/voice", session.WebSocketEndpoint);
        Assert.Equal($"tcp://127.0.0.1:{engine.Voice.AudioEndPoint.Port}", session.Endpoint);

        using ClientWebSocket socket = await ConnectAsync(session);
        byte[] hello = AudioFrameCodec.Encode(AudioFrameType.Hello, Encoding.UTF8.GetBytes(session.Token));
        await SendAsync(socket, hello[..3]); // one frame split over two messages
        await SendAsync(socket, hello[3..]);
        (AudioFrameType ready, byte[] id) = await ReceiveFrameAsync(socket);
        Assert.Equal(AudioFrameType.Ready, ready);
        Assert.Equal(session.SessionId, Encoding.UTF8.GetString(id));

        byte[] pcm = VoiceEngineHarness.Command().Pcm;
        const int frameBytes = 640, framesPerMessage = 10; // ten frames per message, the last message with end
        var batch = new List<byte>();
        for (int offset = 0, frames = 0; offset < pcm.Length; offset += frameBytes)
        {
            batch.AddRange(AudioFrameCodec.Encode(AudioFrameType.Audio, pcm.AsSpan(offset, Math.Min(frameBytes, pcm.Length - offset))));
            if (++frames % framesPerMessage == 0) { await SendAsync(socket, [.. batch]); batch.Clear(); }
        }
        batch.AddRange(AudioFrameCodec.Encode(AudioFrameType.End, []));
        await SendAsync(socket, [.. batch]);

        (AudioFrameType done, byte[] count) = await ReceiveFrameAsync(socket);
        Assert.Equal(AudioFrameType.Done, done);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(count));
        WebSocketReceiveResult close = await ReceiveCloseAsync(socket);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, close.CloseStatus);
    }

    [Fact]
    public async Task Bad_and_used_tokens_over_WebSocket_are_named_and_the_socket_closed()
    {
        await using VoiceEngineHarness engine = await VoiceEngineHarness.StartAsync();
        await using AliciaBus browser = await engine.ClientAsync("browser");
        VoiceSessionResponse session = await OpenAsync(browser);

        (AudioFrameType type, string reason, WebSocketReceiveResult close) = await RawAsync(session, [AudioFrameCodec.Encode(AudioFrameType.Hello, "not-a-token"u8)]);
        Assert.Equal(AudioFrameType.Error, type);
        Assert.Equal("unknown or already used session token", reason);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, close.CloseStatus);
        Assert.Equal(reason, close.CloseStatusDescription);

        byte[] hello = AudioFrameCodec.Encode(AudioFrameType.Hello, Encoding.UTF8.GetBytes(session.Token));
        (type, _, _) = await RawAsync(session, [hello, AudioFrameCodec.Encode(AudioFrameType.End, [])]);
        Assert.Equal(AudioFrameType.Done, type);
        (type, reason, _) = await RawAsync(session, [hello]);
        Assert.Equal(AudioFrameType.Error, type);
        Assert.Equal("unknown or already used session token", reason);
    }

    [Fact]
    public async Task A_malformed_frame_over_WebSocket_ends_only_that_session_while_a_TCP_session_completes()
    {
        await using VoiceEngineHarness engine = await VoiceEngineHarness.StartAsync();
        await using AliciaBus browser = await engine.ClientAsync("browser");
        await using AliciaBus satellite = await engine.ClientAsync("satellite");
        VoiceSessionResponse session = await OpenAsync(browser);
        (Task<VoiceSessionStatus> failed, IAsyncDisposable subscription) = await WatchFailureAsync(browser, session.SessionId);
        await using IAsyncDisposable watching = subscription;

        Task<VoiceSendResult> tcp = VoiceClient.SendAsync(satellite, VoiceEngineHarness.Command().Pcm, 16000, 1, new VoiceSendOptions { Timeout = Wait });
        (AudioFrameType type, string reason, _) = await RawAsync(session,
        [
            AudioFrameCodec.Encode(AudioFrameType.Hello, Encoding.UTF8.GetBytes(session.Token)),
            AudioFrameCodec.Encode(AudioFrameType.Audio, new byte[640]),
            [0x7f, 0, 0, 0, 0],
        ]);

        Assert.Equal(AudioFrameType.Error, type);
        Assert.Equal("malformed frame: unknown frame type 0x7f", reason);
        Assert.Equal(reason, (await failed.WaitAsync(Wait)).Reason);
        VoiceSendResult ok = await tcp.WaitAsync(Wait);
        Assert.Null(ok.Error);
        Assert.Equal(1, ok.Utterances);
        Assert.Single(ok.Transcripts);
    }

    [Fact]
    public async Task A_text_message_is_refused_with_the_reason()
    {
        await using VoiceEngineHarness engine = await VoiceEngineHarness.StartAsync();
        await using AliciaBus browser = await engine.ClientAsync("browser");
        VoiceSessionResponse session = await OpenAsync(browser);
        (Task<VoiceSessionStatus> failed, IAsyncDisposable subscription) = await WatchFailureAsync(browser, session.SessionId);
        await using IAsyncDisposable watching = subscription;

        using ClientWebSocket socket = await ConnectAsync(session);
        await SendAsync(socket, AudioFrameCodec.Encode(AudioFrameType.Hello, Encoding.UTF8.GetBytes(session.Token)));
        Assert.Equal(AudioFrameType.Ready, (await ReceiveFrameAsync(socket)).Type);
        await socket.SendAsync("{\"audio\":[0,0]}"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, Timeout());

        (AudioFrameType type, byte[] payload) = await ReceiveFrameAsync(socket);
        Assert.Equal(AudioFrameType.Error, type);
        Assert.Equal("text message refused: send the audio frames as binary WebSocket messages", Encoding.UTF8.GetString(payload));
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, (await ReceiveCloseAsync(socket)).CloseStatus);
        Assert.StartsWith("text message refused", (await failed.WaitAsync(Wait)).Reason);
    }

    [Fact]
    public async Task An_idle_WebSocket_stream_gets_the_timeout_error_and_its_session_fails_on_the_bus()
    {
        await using VoiceEngineHarness engine = await VoiceEngineHarness.StartAsync(o => o with { IdleTimeout = TimeSpan.FromMilliseconds(300) });
        await using AliciaBus browser = await engine.ClientAsync("browser");
        VoiceSessionResponse session = await OpenAsync(browser);
        (Task<VoiceSessionStatus> failed, IAsyncDisposable subscription) = await WatchFailureAsync(browser, session.SessionId);
        await using IAsyncDisposable watching = subscription;

        // Hello, then silence on the wire: the engine's canceled read must not abort the socket.
        (AudioFrameType type, string reason, WebSocketReceiveResult close) = await RawAsync(session, [AudioFrameCodec.Encode(AudioFrameType.Hello, Encoding.UTF8.GetBytes(session.Token))]);
        Assert.Equal(AudioFrameType.Error, type);
        Assert.Equal("no audio for 0.3 s", reason);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, close.CloseStatus);
        Assert.Equal("no audio for 0.3 s", (await failed.WaitAsync(Wait)).Reason);
        Assert.Equal(0, engine.Voice.ActiveSessions);
    }

    [Theory]
    [InlineData("GET /voice HTTP/1.1\r\nHost: x\r\n\r\n", "not a WebSocket upgrade (Upgrade: websocket is missing)")]
    [InlineData("GET /other HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", "unknown path '/other': the voice stream is at /voice")]
    [InlineData("GET /voice HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", "WebSocket version '8' is not supported (13 is)")]
    [InlineData("GET /voice HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: c2hvcnQ=\r\n\r\n", "Sec-WebSocket-Key is not 16 bytes in base64")]
    [InlineData("GIMME AUDIO\r\n\r\n", "not a GET request: the voice stream takes a WebSocket upgrade")]
    public async Task A_request_that_is_not_a_WebSocket_upgrade_gets_400_with_the_reason(string request, string reason)
    {
        await using VoiceEngineHarness engine = await VoiceEngineHarness.StartAsync();
        string response = await HttpAsync(engine.Voice.AudioEndPoint!.Port, Encoding.ASCII.GetBytes(request));
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", response);
        Assert.EndsWith("\r\n\r\n" + reason + "\n", response);
    }

    [Fact]
    public async Task An_oversized_request_header_is_refused_before_it_is_buffered()
    {
        await using VoiceEngineHarness engine = await VoiceEngineHarness.StartAsync();
        byte[] request = Encoding.ASCII.GetBytes("GET /voice HTTP/1.1\r\nX-Padding: " + new string('a', 9000)); // no end of header
        string response = await HttpAsync(engine.Voice.AudioEndPoint!.Port, request);
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", response);
        Assert.EndsWith("request header larger than 8192 bytes\n", response);
    }

    // ---- helpers ----

    private static CancellationToken Timeout() => new CancellationTokenSource(Wait).Token;

    private static async Task<VoiceSessionResponse> OpenAsync(AliciaBus bus)
    {
        VoiceSessionResponse session = (await bus.RequestAsync<VoiceSessionRequest, VoiceSessionResponse>(new VoiceSessionRequest(), "alicia-engine", timeout: Wait)).Data;
        Assert.True(session.Accepted, session.Error);
        return session;
    }

    /// <summary>Completes with the session's Failed status from the bus.</summary>
    private static async Task<(Task<VoiceSessionStatus> Failed, IAsyncDisposable Subscription)> WatchFailureAsync(AliciaBus bus, string sessionId)
    {
        var failed = new TaskCompletionSource<VoiceSessionStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        IAsyncDisposable subscription = await bus.SubscribeAsync<VoiceSessionStatus>((m, _) =>
        {
            if (m.Data.SessionId == sessionId && m.Data.State == VoiceSessionState.Failed) failed.TrySetResult(m.Data);
            return default;
        });
        return (failed.Task, subscription);
    }

    private static async Task<ClientWebSocket> ConnectAsync(VoiceSessionResponse session)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri(session.WebSocketEndpoint), Timeout());
        return socket;
    }

    private static async Task SendAsync(ClientWebSocket socket, byte[] message) =>
        await socket.SendAsync(message, WebSocketMessageType.Binary, endOfMessage: true, Timeout());

    /// <summary>The engine's next answer frame (each is one binary message).</summary>
    private static async Task<(AudioFrameType Type, byte[] Payload)> ReceiveFrameAsync(ClientWebSocket socket)
    {
        var message = new MemoryStream();
        var buffer = new byte[4096];
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, Timeout());
            if (result.MessageType == WebSocketMessageType.Close) throw new InvalidOperationException($"closed ({result.CloseStatus}: {result.CloseStatusDescription}) where a frame was expected");
            message.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);
        Assert.Equal(WebSocketMessageType.Binary, result.MessageType);
        byte[] frame = message.ToArray();
        Assert.Equal(AudioFrameCodec.HeaderSize + BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(1)), (uint)frame.Length);
        return ((AudioFrameType)frame[0], frame[AudioFrameCodec.HeaderSize..]);
    }

    private static async Task<WebSocketReceiveResult> ReceiveCloseAsync(ClientWebSocket socket)
    {
        WebSocketReceiveResult result = await socket.ReceiveAsync(new byte[256], Timeout());
        Assert.Equal(WebSocketMessageType.Close, result.MessageType);
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", Timeout());
        return result;
    }

    /// <summary>Sends the messages, then returns the first answer after ready, and the close that follows it.</summary>
    private static async Task<(AudioFrameType Type, string Text, WebSocketReceiveResult Close)> RawAsync(VoiceSessionResponse session, byte[][] messages)
    {
        using ClientWebSocket socket = await ConnectAsync(session);
        foreach (byte[] m in messages) await SendAsync(socket, m);
        while (true)
        {
            (AudioFrameType type, byte[] payload) = await ReceiveFrameAsync(socket);
            if (type == AudioFrameType.Ready) continue;
            return (type, Encoding.UTF8.GetString(payload), await ReceiveCloseAsync(socket));
        }
    }

    /// <summary>Raw bytes to the audio port; the whole answer, up to the engine closing the connection.</summary>
    private static async Task<string> HttpAsync(int port, byte[] request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(request);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync(Timeout());
    }
}
