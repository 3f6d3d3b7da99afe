using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Voice.Transport;

namespace Alicia.Tools.Voice;

/// <summary>What a satellite got back for one stream.</summary>
internal sealed class VoiceSendResult
{
    public required string SessionId { get; init; }

    /// <summary>The speech-to-text engine the engine chose for the session.</summary>
    public string SttEngine { get; init; } = "";
    public List<BusMessage<SttResponse>> Transcripts { get; } = [];
    public List<SpeechSegment> Segments { get; } = [];

    /// <summary>Null when the stream ended well; else the engine's reason.</summary>
    public string? Error { get; set; }

    public int Utterances { get; set; }

    /// <summary>The spoken replies received on the connection (with <see cref="VoiceSendOptions.ReceiveReplies"/>).</summary>
    public VoiceReplies Replies { get; init; } = new();

    /// <summary><see cref="System.Diagnostics.Stopwatch"/> ticks when the last audio frame was sent (the end of the user's speech, give or take the trailing silence).</summary>
    public long AudioSentTicks { get; set; }
}

internal sealed record VoiceSendOptions
{
    public string Engine { get; init; } = "alicia-engine";
    public string DeviceId { get; init; } = "";

    /// <summary>The satellite's room, sent with the session request (the engine ducks media there while it listens).</summary>
    public string Room { get; init; } = "";
    public VoiceSessionKind Kind { get; init; } = VoiceSessionKind.Command;
    public string Language { get; init; } = "en";

    /// <summary>A speech-to-text engine by name; empty lets the engine choose by language and budget.</summary>
    public string SttEngine { get; init; } = "";

    /// <summary>End of speech to transcript allowed, in ms (0: none).</summary>
    public int LatencyBudgetMs { get; init; }

    /// <summary>Bytes of PCM per frame (default 20 ms of 16 kHz mono = 640).</summary>
    public int FrameBytes { get; init; } = 640;

    /// <summary>Pace frames in real time (as a microphone would) instead of as fast as possible.</summary>
    public bool RealTime { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Stream over the session's WebSocket endpoint (as a browser does) instead of TCP.</summary>
    public bool WebSocket { get; init; }

    /// <summary>
    /// For <c>tls://</c> and <c>wss://</c> endpoints: the CA that signed the engine's certificate (<c>ca.pem</c>,
    /// the one bus clients use for <c>mqtts://</c>); only it is trusted. Null trusts the system's roots.
    /// </summary>
    public string? CaCertificatePath { get; init; }

    /// <summary>Full duplex: ask for the reply audio on this connection (a <c>listen</c> frame), and wait for it after done.</summary>
    public bool ReceiveReplies { get; init; }

    /// <summary>With <see cref="ReceiveReplies"/>: how many replies to wait for after done (the engine may also close first).</summary>
    public int ExpectedReplies { get; init; } = 1;
}

/// <summary>
/// The satellite side of a voice session: asks the engine on the bus, streams PCM frames to the endpoint
/// it names (TCP, or WebSocket with <see cref="VoiceSendOptions.WebSocket"/>; over TLS when the engine
/// offers <c>tls://</c>/<c>wss://</c>, trusting <see cref="VoiceSendOptions.CaCertificatePath"/>), and collects the segments and transcripts the engine publishes. Used by <c>alicia voice send</c>.
/// </summary>
internal static class VoiceClient
{
    public static async Task<VoiceSendResult> SendAsync(AliciaBus bus, byte[] pcm, int sampleRate, int channels, VoiceSendOptions? options = null, CancellationToken cancellationToken = default, VoiceReplies? replies = null)
    {
        options ??= new VoiceSendOptions();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Timeout);
        CancellationToken ct = timeout.Token;

        // The token comes back on this client's private topic, and is bound to this request: the hello proves it with
        // the secret whose hash the (signed) request carries.
        byte[] secret = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        BusMessage<VoiceSessionResponse> reply = await bus.RequestAsync<VoiceSessionRequest, VoiceSessionResponse>(new VoiceSessionRequest
        {
            DeviceId = options.DeviceId, Kind = options.Kind, SampleRate = sampleRate, Channels = channels,
            Language = options.Language, SttEngine = options.SttEngine, LatencyBudgetMs = options.LatencyBudgetMs,
            HelloProofHash = System.Security.Cryptography.SHA256.HashData(secret), Room = options.Room,
        }, options.Engine, timeout: options.Timeout, cancellationToken: ct).ConfigureAwait(false);
        VoiceSessionResponse session = reply.Data;
        if (!session.Accepted) return new VoiceSendResult { SessionId = "", Error = "session refused: " + session.Error };

        var result = new VoiceSendResult { SessionId = session.SessionId, SttEngine = session.SttEngine, Replies = replies ?? new VoiceReplies() };
        var transcripts = new ConcurrentQueue<BusMessage<SttResponse>>();
        var arrived = new SemaphoreSlim(0);
        await using IAsyncDisposable sttSub = await bus.SubscribeAsync<SttResponse>((m, _) =>
        {
            if (m.Data.SessionId == session.SessionId) { transcripts.Enqueue(m); arrived.Release(); }
            return default;
        }, cancellationToken: ct).ConfigureAwait(false);
        await using IAsyncDisposable segSub = await bus.SubscribeAsync<SpeechSegment>((m, _) =>
        {
            if (m.Data.SessionId == session.SessionId && m.Data.Edge == SpeechEdge.End) lock (result.Segments) result.Segments.Add(m.Data);
            return default;
        }, cancellationToken: ct).ConfigureAwait(false);

        (result.Error, result.Utterances) = await StreamAsync(session, pcm, sampleRate, channels, options, ct, secret, result).ConfigureAwait(false);

        // Done means every transcript was published; wait for the bus to deliver them.
        for (int i = 0; i < result.Utterances; i++)
        {
            try { await arrived.WaitAsync(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { result.Error ??= $"only {i} of {result.Utterances} transcripts arrived in time"; break; }
        }
        result.Transcripts.AddRange(transcripts.OrderBy(t => t.Data.Timings.GetValueOrDefault("utterance_start_s")));
        return result;
    }

    /// <summary>The hello frame's text: the token, followed by <c>.</c> and the base64url secret when the request committed to one.</summary>
    public static string Hello(string token, byte[]? secret) =>
        secret is null ? token : token + "." + System.Buffers.Text.Base64Url.EncodeToString(secret);

    /// <summary>Streams PCM over the session's endpoint; returns the engine's error (or null) and the utterance count.</summary>
    /// <param name="helloSecret">The secret whose SHA-256 the request carried (<see cref="VoiceSessionRequest.HelloProofHash"/>), if any.</param>
    public static async Task<(string? Error, int Utterances)> StreamAsync(VoiceSessionResponse session, byte[] pcm, int sampleRate, int channels, VoiceSendOptions options, CancellationToken ct,
        byte[]? helloSecret = null, VoiceSendResult? result = null)
    {
        if (options.WebSocket && string.IsNullOrEmpty(session.WebSocketEndpoint)) return ("the engine offers no WebSocket endpoint (it predates them)", 0);
        await using Stream stream = await AudioClientTransport.ConnectAsync(new Uri(options.WebSocket ? session.WebSocketEndpoint : session.Endpoint), options.CaCertificatePath, ct).ConfigureAwait(false);
        await stream.WriteAsync(AudioFrameCodec.Encode(AudioFrameType.Hello, Encoding.UTF8.GetBytes(Hello(session.Token, helloSecret))), ct).ConfigureAwait(false);
        (AudioFrameType type, byte[] payload) = await ReadFrameAsync(stream, ct).ConfigureAwait(false);
        if (type == AudioFrameType.Error) return (Encoding.UTF8.GetString(payload), 0);
        if (type != AudioFrameType.Ready) return ($"unexpected {type} frame from the engine", 0);

        // From here the engine's frames are read as they come: reply audio may arrive while this side still streams.
        VoiceReplies replies = result?.Replies ?? new VoiceReplies();
        if (options.ReceiveReplies) await stream.WriteAsync(AudioFrameCodec.Encode(AudioFrameType.Listen, []), ct).ConfigureAwait(false);
        var answers = System.Threading.Channels.Channel.CreateUnbounded<(AudioFrameType, byte[])>();
        Task reading = ReadEngineFramesAsync(stream, replies, answers.Writer, ct);

        int frameBytes = Math.Max(2 * channels, options.FrameBytes / (2 * channels) * (2 * channels));
        int bytesPerSecond = sampleRate * 2 * channels;
        var started = System.Diagnostics.Stopwatch.StartNew();
        for (int offset = 0; offset < pcm.Length; offset += frameBytes)
        {
            int n = Math.Min(frameBytes, pcm.Length - offset);
            await stream.WriteAsync(AudioFrameCodec.Encode(AudioFrameType.Audio, pcm.AsSpan(offset, n)), ct).ConfigureAwait(false);
            if (options.RealTime)
            {
                TimeSpan due = TimeSpan.FromSeconds((offset + n) / (double)bytesPerSecond);
                TimeSpan wait = due - started.Elapsed;
                if (wait > TimeSpan.Zero) await Task.Delay(wait, ct).ConfigureAwait(false);
            }
        }
        if (result is not null) result.AudioSentTicks = System.Diagnostics.Stopwatch.GetTimestamp();
        await stream.WriteAsync(AudioFrameCodec.Encode(AudioFrameType.End, []), ct).ConfigureAwait(false);
        try
        {
            (type, payload) = await answers.Reader.ReadAsync(ct).ConfigureAwait(false);
        }
        catch (System.Threading.Channels.ChannelClosedException)
        {
            await reading.ConfigureAwait(false); // the reason the connection ended
            return ("the engine closed the connection without done", 0);
        }
        (string? Error, int Utterances) outcome = type switch
        {
            AudioFrameType.Done => (null, (int)BinaryPrimitives.ReadUInt32LittleEndian(payload)),
            AudioFrameType.Error => (Encoding.UTF8.GetString(payload), 0),
            _ => ($"unexpected {type} frame from the engine", 0),
        };
        if (outcome.Error is null && options.ReceiveReplies) await replies.WaitForEndsAsync(options.ExpectedReplies, ct).ConfigureAwait(false);
        return outcome;
    }

    /// <summary>Reply frames to <paramref name="replies"/>, the rest (done, error) to <paramref name="answers"/>, until the engine closes.</summary>
    private static async Task ReadEngineFramesAsync(Stream stream, VoiceReplies replies, System.Threading.Channels.ChannelWriter<(AudioFrameType, byte[])> answers, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                (AudioFrameType type, byte[] payload) = await ReadFrameAsync(stream, ct).ConfigureAwait(false);
                if (!replies.Accept(type, payload)) answers.TryWrite((type, payload));
            }
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or OperationCanceledException or ObjectDisposedException or InvalidDataException or System.Net.WebSockets.WebSocketException)
        {
            // The engine closed the connection (or this side gave up): whoever waits is told.
        }
        finally
        {
            replies.MarkClosed();
            answers.TryComplete();
        }
    }

    public static async Task<(AudioFrameType Type, byte[] Payload)> ReadFrameAsync(Stream stream, CancellationToken ct)
    {
        var header = new byte[AudioFrameCodec.HeaderSize];
        await stream.ReadExactlyAsync(header, ct).ConfigureAwait(false);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(1));
        if (length > 1 << 20) throw new InvalidDataException($"engine frame of {length} bytes");
        var payload = new byte[length];
        await stream.ReadExactlyAsync(payload, ct).ConfigureAwait(false);
        return ((AudioFrameType)header[0], payload);
    }
}
