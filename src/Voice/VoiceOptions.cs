using System.Security.Cryptography.X509Certificates;
using Alicia.Voice.Stt;
using Alicia.Voice.Vad;

namespace Alicia.Voice;

internal sealed record VoiceOptions
{
    /// <summary>False: the service stays off (it is registered but listens to nothing).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>True: without the Silero VAD model the service stays off with a warning instead of failing the engine's start (what <c>alicia run</c> wants).</summary>
    public bool OffWithoutVadModel { get; init; }

    /// <summary>Silero VAD v5 ONNX file; null looks for <c>models/cache/silero_vad_v5.onnx</c> up from the working directory.</summary>
    public string? VadModelPath { get; init; }

    /// <summary>Whisper ggml model; null means no in-process STT (unless an engine is passed to the service).</summary>
    public string? WhisperModelPath { get; init; }

    /// <summary>More Whisper models after the default, in preference order (e.g. a multilingual one beside tiny.en); sessions pick by language and latency budget.</summary>
    public IReadOnlyList<string> ExtraWhisperModelPaths { get; init; } = [];

    /// <summary>
    /// Transcriptions at once per Whisper model, each with its own state; null: 2 (1 on a single core). Two
    /// one-thread transcriptions beat one two-thread transcription on 2 cores once sessions overlap, because
    /// token-by-token decoding of a small model parallelises poorly (bench/README.md, voice).
    /// </summary>
    public int? WhisperConcurrency { get; init; }

    /// <summary>whisper.cpp threads per transcription; null: the cores shared over <see cref="WhisperConcurrency"/>.</summary>
    public int? WhisperThreads { get; init; }

    internal int EffectiveWhisperConcurrency => WhisperConcurrency ?? Math.Clamp(Environment.ProcessorCount, 1, 2);

    internal int EffectiveWhisperThreads => WhisperThreads ?? Math.Max(1, Environment.ProcessorCount / EffectiveWhisperConcurrency);


    /// <summary>Address the audio stream listener binds (loopback by default).</summary>
    public string ListenAddress { get; init; } = "127.0.0.1";

    /// <summary>TCP port of the audio stream listener; 0 picks a free one.</summary>
    public int AudioPort { get; init; }

    /// <summary>Host name put in session endpoints (defaults to the listen address).</summary>
    public string? AdvertisedHost { get; init; }

    /// <summary>
    /// The audio port's server certificate (with its key); null: the embedded broker's TLS certificate, when
    /// it has one (one CA for clients to trust). Set: sessions advertise <c>tls://</c> and <c>wss://</c>,
    /// and a connection opening with a TLS record is served over TLS 1.3. No client certificate is asked:
    /// the one-time token from the (already authenticated) bus authorises the stream; this certificate
    /// authenticates the engine to the client.
    /// </summary>
    public X509Certificate2? TlsCertificate { get; init; }

    /// <summary>
    /// Plaintext audio policy once <see cref="TlsCertificate"/> is set. Null (default) or true: TLS is
    /// required, a plaintext connection is refused with the reason (speech on the LAN would be readable, and
    /// its token replayable). False: plaintext is accepted from loopback only (it never leaves the machine;
    /// e.g. a local satellite that predates TLS). True without a certificate is a configuration error.
    /// </summary>
    public bool? RequireTls { get; init; }

    /// <summary>A TLS handshake not finished within this is dropped (a stalled client holds no more than one socket that long).</summary>
    public TimeSpan TlsHandshakeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Concurrent sessions (TCP and MQTT) at most; more are refused with the reason.</summary>
    public int MaxSessions { get; init; } = 32;

    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Largest payload of one audio frame.</summary>
    public int MaxFrameBytes { get; init; } = Transport.AudioFrameCodec.DefaultMaxPayload;

    /// <summary>A TCP stream silent for this long ends with an error.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>An MQTT audio session with no chunk for this long is completed (its speech flushed).</summary>
    public TimeSpan MqttIdleTimeout { get; init; } = TimeSpan.FromSeconds(3);

    public bool AcceptMqttAudio { get; init; } = true;

    public EndpointerOptions Endpointing { get; init; } = new();

    public SttPoolOptions Pool { get; init; } = new();

    public QualityOptions Quality { get; init; } = new();

    /// <summary>Token caps: device commands are short.</summary>
    public int CommandMaxTokens { get; init; } = 32;

    public int DictationMaxTokens { get; init; } = 128;

    /// <summary>The speaking half: voices, reply streaming, barge-in.</summary>
    public Speech.SpeechOptions Speech { get; init; } = new();
}
