using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Voice.Speech;
using Alicia.Voice.Speech.Output;
using Alicia.Voice.Speech.Piper;
using Alicia.Voice.Stt;
using Alicia.Voice.Transport;
using Alicia.Voice.Vad;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;

namespace Alicia.Voice;

/// <summary>
/// The listening half of the voice pipeline, as an engine service: answers voice session requests on the
/// bus with an audio endpoint and a one-time token, serves the audio streams, accepts MQTT audio chunks
/// on <c>alicia/devices/+/audio</c>, and runs every stream through VAD, speech to text (one shared pool)
/// and the quality assessor, publishing segments and transcripts with per-stage timings.
/// </summary>
public sealed class VoiceService : IEngineService
{
    private readonly VoiceOptions _options;
    private readonly IReadOnlyList<ISpeechToText> _injectedStt;
    private readonly ConcurrentDictionary<string, PendingToken> _tokens = new();
    private readonly ConcurrentDictionary<string, VoiceSession> _sessions = new();
    private readonly ConcurrentDictionary<string, MqttAudioSession> _mqttSessions = new();
    private readonly List<IAsyncDisposable> _owned = [];
    private ILogger _logger = NullLogger.Instance;
    private AliciaEngine? _engine;
    private SileroVadModel? _vad;
    private AudioStreamServer? _server;
    private ITimer? _sweeper;

    internal VoiceService(VoiceOptions? options = null, ISpeechToText? speechToText = null)
        : this(options, speechToText is null ? [] : [speechToText])
    {
    }

    /// <summary>With engines of the host's own (a cloud STT ...), before the configured Whisper models in preference order.</summary>
    internal VoiceService(VoiceOptions? options, IReadOnlyList<ISpeechToText> speechToText)
    {
        _options = options ?? new VoiceOptions();
        _injectedStt = speechToText;
        Quality = new QualityAssessor(_options.Quality);
    }

    public string Name => "voice";

    public IReadOnlyList<Type> StartsAfter { get; } = [typeof(Engine.Security.Gateway.SecurityGateway)];

    // Loading the VAD (ONNX Runtime) and Whisper models is the heavy part of an engine's start: alicia run does it in the background.
    bool IEngineService.StartsInBackground => true;
    internal VoiceOptions Options => _options;
    internal QualityAssessor Quality { get; }
    /// <summary>The engine manager: every speech-to-text engine, each with its pool, in preference order.</summary>
    internal SttEngineManager Engines { get; } = new();

    /// <summary>Satellite connections that take reply audio (a <c>listen</c> frame), by session and device.</summary>
    internal SatelliteConnections Satellites { get; } = new();

    /// <summary>Lowers media in a room while a session there listens (null: speech off, or not started).</summary>
    internal Speakers.RoomDucking? Ducking { get; private set; }

    /// <summary>The speaking half (null: off, or not started).</summary>
    internal SpeechOutput? Speech { get; private set; }

    /// <summary>The default (first) engine's pool.</summary>
    internal SpeechToTextPool? Pool => Engines.Default;
    internal SileroVadModel VadModel => _vad ?? throw new InvalidOperationException("the voice service is not started");

    /// <summary>Where satellites stream audio (after start).</summary>
    public IPEndPoint? AudioEndPoint => _server?.EndPoint;

    /// <summary>Audio sessions in progress (TCP, WebSocket and MQTT).</summary>
    public int ActiveSessions => _sessions.Count;

    /// <summary>The speech-to-text engines serving sessions, in preference order (empty: VAD segments only).</summary>
    public IReadOnlyList<string> SpeechToTextEngines => [.. Engines.Pools.Select(p => p.Engine.Name)];

    /// <summary>
    /// Raised when an audio connection ends before any session (remote, reason): a TLS handshake that
    /// failed or timed out, or plaintext the TLS policy refuses. For monitoring; each is also logged.
    /// </summary>
    internal event Action<string, string>? ConnectionRefused;

    internal void OnConnectionRefused(string remote, string reason) => ConnectionRefused?.Invoke(remote, reason);

    /// <summary>Raised after each transcript is published (stage stamps for benchmarks and monitoring).</summary>
    internal event Action<UtteranceTrace>? Published;

    internal void OnPublished(UtteranceTrace trace) => Published?.Invoke(trace);

    private long _speculationsStarted, _speculationsWithdrawn;

    /// <summary>Transcriptions started during a silence hangover.</summary>
    internal long SpeculationsStarted => Interlocked.Read(ref _speculationsStarted);

    /// <summary>Speculations dropped because speech resumed (or ended elsewhere).</summary>
    internal long SpeculationsWithdrawn => Interlocked.Read(ref _speculationsWithdrawn);

    internal void CountSpeculation(bool started) => Interlocked.Increment(ref started ? ref _speculationsStarted : ref _speculationsWithdrawn);

    public async Task StartAsync(AliciaEngine engine, CancellationToken cancellationToken)
    {
        _engine = engine;
        _logger = engine.LoggerFactory.CreateLogger<VoiceService>();
        if (!_options.Enabled)
        {
            _logger.LogInformation("Voice pipeline off (Voice:Enabled=false)");
            return;
        }
        await StartSpeechAsync(engine, cancellationToken).ConfigureAwait(false);
        string? vadPath = _options.VadModelPath ?? SileroVadModel.FindDefault();
        if (_options.OffWithoutVadModel && (vadPath is null || !File.Exists(vadPath)))
        {
            _logger.LogWarning("Voice pipeline off: the Silero VAD model is missing (run scripts/fetch-models.sh, or set Voice:VadModelPath)");
            return;
        }
        // The audio port encrypts with the bus's own certificate: one CA for clients to trust, one name to
        // match. Built first, so a TLS misconfiguration stops the start before models are loaded.
        var tls = new AudioTls(_options.TlsCertificate ?? engine.Broker?.Tls?.ServerCertificate, _options.RequireTls, _options.TlsHandshakeTimeout);
        if (vadPath is null) throw new FileNotFoundException("Silero VAD v5 model not found: set Voice:VadModelPath, or run scripts/fetch-models.sh (models/cache/silero_vad_v5.onnx)");
        _vad = new SileroVadModel(vadPath);

        foreach (ISpeechToText stt in _injectedStt) AddEngine(stt, engine);
        string?[] models = [_options.WhisperModelPath, .. _options.ExtraWhisperModelPaths];
        foreach (string? model in models.Where(m => !string.IsNullOrWhiteSpace(m)))
        {
            try
            {
                var whisper = new WhisperSpeechToText(new WhisperOptions { ModelPath = model!, Threads = _options.EffectiveWhisperThreads, Concurrency = _options.EffectiveWhisperConcurrency });
                _owned.Add(whisper);
                await whisper.WarmUpAsync(cancellationToken).ConfigureAwait(false);
                AddEngine(whisper, engine);
            }
            catch (Exception e) when (e is FileNotFoundException or PlatformNotSupportedException or DllNotFoundException or InvalidDataException)
            {
                // The engine keeps serving the bus and VAD; sessions that need this model are told so.
                _logger.LogError("Voice: speech-to-text model {Model} disabled: {Reason}", model, e.Message);
            }
        }
        _owned.Add(Engines);
        VoiceQueueGauges.Register(engine.Metrics.Meter, () => Engines.Pools.Sum(p => p.Queued), () => Speech?.Active.Sum(r => r.PendingPieces) ?? 0);
        if (Engines.Pools.Count == 0) _logger.LogWarning("Voice: no speech-to-text engine configured (Voice:WhisperModelPath); sessions get VAD segments only");

        _server = new AudioStreamServer(this, IPAddress.Parse(_options.ListenAddress), _options.AudioPort, _logger, tls);
        _server.Start();
        _owned.Add(_server);

        AliciaBus bus = engine.Bus;
        _owned.Add(await bus.RespondAsync<VoiceSessionRequest, VoiceSessionResponse>(OpenSessionAsync, cancellationToken: cancellationToken).ConfigureAwait(false));
        if (_options.AcceptMqttAudio)
        {
            _owned.Add(await bus.SubscribeAsync<DeviceAudio>(OnDeviceAudioAsync, new SubscribeOptions { Filter = DeviceAudio.TopicFilter, ReceiveAll = true }, cancellationToken: cancellationToken).ConfigureAwait(false));
            TimeSpan period = TimeSpan.FromMilliseconds(Math.Max(50, _options.MqttIdleTimeout.TotalMilliseconds / 4));
            _sweeper = engine.Clock.CreateTimer(_ => _ = SweepIdleAsync(), null, period, period);
        }
        _logger.LogInformation("Voice: audio streams on {Scheme}://{EndPoint} (and WebSocket at {Path} on the same port; {Policy}); VAD {Vad}; STT {Stt}",
            tls.Enabled ? "tls" : "tcp", _server.EndPoint, AudioStreamServer.WebSocketPath,
            !tls.Enabled ? "plaintext: no certificate" : tls.Required ? "TLS 1.3 required" : "TLS 1.3, plaintext from loopback only", vadPath,
            Engines.Pools.Count == 0 ? "none" : string.Join(", ", Engines.Pools.Select(p => p.Engine.Name)));
    }

    /// <summary>Voices in preference order (a Piper voice when configured and loadable, then espeak-ng) and the reply output.</summary>
    private async Task StartSpeechAsync(AliciaEngine engine, CancellationToken cancellationToken)
    {
        SpeechOptions speech = _options.Speech;
        if (!speech.Enabled) return;
        var voices = new List<ISpeechSynthesizer>();
        if (!string.IsNullOrWhiteSpace(speech.PiperModelPath))
        {
            try
            {
                var piper = new PiperSynthesizer(speech.PiperModelPath);
                _owned.Add(new DisposesSynchronously(piper));
                voices.Add(piper);
            }
            catch (Exception e) when (e is FileNotFoundException or InvalidDataException or OnnxRuntimeException or System.Text.Json.JsonException)
            {
                _logger.LogError("Voice: Piper voice {Model} disabled ({Reason}); replies are spoken by espeak-ng", speech.PiperModelPath, e.Message);
            }
        }
        if (Alicia.Voice.Speech.Espeak.EspeakLibrary.Unavailable() is { } missing) _logger.LogWarning("Voice: espeak-ng unavailable ({Reason})", missing);
        else voices.Add(new Alicia.Voice.Speech.Espeak.EspeakSynthesizer(speech.EspeakVoice));
        if (voices.Count == 0) _logger.LogWarning("Voice: no voice can speak; replies reach satellites as text only");
        Speakers.SpeakerDirectory speakers = StartSpeakers(speech, engine);
        Ducking = new Speakers.RoomDucking(speakers, speech.DuckVolume, _logger,
            deviceId => engine.Services.OfType<Alicia.Engine.Registry.RegistryService>().FirstOrDefault()?.Registry is { } registry ? registry.Get(deviceId)?.Location : null);
        var output = new SpeechOutput(new SpeechVoices(voices, new PhraseCache(speech.PhraseCacheEntries), _logger), speech, Satellites, speakers, engine.Clock, _logger);
        if (engine.Services.OfType<Alicia.Engine.Monitoring.MonitoringService>().FirstOrDefault() is { } monitoring)
            output.FirstAudio += p => { (double total, KeyValuePair<string, double>[] stages) = p.AudioDelivery(); monitoring.CheckBudget("audio_delivery", total, stages); };
        await output.StartAsync(engine.Bus, cancellationToken).ConfigureAwait(false);
        _owned.Add(output);
        Speech = output;
        _logger.LogInformation("Voice: replies spoken by {Voices}", voices.Count == 0 ? "no voice (text only)" : string.Join(", then ", voices.Select(v => v.Name)));
    }

    /// <summary>
    /// Sonos players by room: configured ones, then those registered with the registry (<see cref="Speakers.RegisteredSpeakers"/>).
    /// The clip server they fetch replies from starts with the first player, configured or registered later.
    /// </summary>
    private Speakers.SpeakerDirectory StartSpeakers(SpeechOptions speech, AliciaEngine engine)
    {
        var sonos = new Lazy<(Sonos.AudioClipServer Clips, HttpClient Http)>(() =>
        {
            var clips = new Sonos.AudioClipServer(IPAddress.Parse(speech.ClipListenAddress), 0, speech.ClipAdvertisedHost, _logger);
            clips.Start();
            var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
            lock (_owned)
            {
                _owned.Add(clips);
                _owned.Add(new DisposesSynchronously(http));
            }
            _logger.LogInformation("Voice: reply clips for speakers served on http://{EndPoint}", clips.EndPoint);
            return (clips, http);
        }, LazyThreadSafetyMode.ExecutionAndPublication);
        Speech.Output.IReplyOutput Create(Uri address) =>
            new Sonos.SonosSpeaker(new Sonos.SonosClient(sonos.Value.Http, address), sonos.Value.Clips, speech.AnnounceVolume, engine.Clock, _logger);
        var speakers = speech.SonosSpeakers.Select(s => new Speakers.RoomSpeaker(s.Room, s.Address.Authority, Create(s.Address))).ToList();
        if (speakers.Count > 0) _logger.LogInformation("Voice: speakers {Speakers}", string.Join(", ", speakers.Select(s => $"{s.Output.Description} in {s.Room}")));
        return new Speakers.SpeakerDirectory(speakers, new Speakers.RegisteredSpeakers(engine.DeviceDirectory(), Create));
    }

    private sealed class DisposesSynchronously(IDisposable inner) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            inner.Dispose();
            return default;
        }
    }

    private void AddEngine(ISpeechToText stt, AliciaEngine engine) => Engines.Add(new SpeechToTextPool(stt, _options.Pool, engine.Clock));

    private ValueTask<VoiceSessionResponse> OpenSessionAsync(BusMessage<VoiceSessionRequest> message, CancellationToken ct)
    {
        VoiceSessionRequest request = message.Data;
        if (request.SampleRate is < 8000 or > 48000) return Refuse($"sample rate {request.SampleRate} Hz is not supported (8000..48000)");
        if (request.Channels is not (1 or 2)) return Refuse($"{request.Channels} channels: only mono or interleaved stereo");
        if (AtCapacity()) return Refuse($"busy: {_options.MaxSessions} voice sessions already open");

        if (request.LatencyBudgetMs < 0) return Refuse($"latency budget {request.LatencyBudgetMs} ms is negative");
        if (request.HelloProofHash.Length is not (0 or SHA256.HashSizeInBytes)) return Refuse($"hello proof hash of {request.HelloProofHash.Length} bytes: a SHA-256 (32 bytes) or none");
        string language = string.IsNullOrEmpty(request.Language) ? "en" : request.Language.ToLowerInvariant();
        SttChoice stt = Engines.Choose(new SttRequirement
        {
            Language = language,
            Engine = string.IsNullOrEmpty(request.SttEngine) ? null : request.SttEngine,
            LatencyBudget = request.LatencyBudgetMs > 0 ? TimeSpan.FromMilliseconds(request.LatencyBudgetMs) : null,
        });
        // No engine at all still gives VAD segments; an engine that cannot serve what was asked is refused.
        if (stt.Pool is null && Engines.Pools.Count > 0) return Refuse(stt.Error!);

        string id = Guid.NewGuid().ToString("N");
        string token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');
        var session = new VoiceSession(this, _engine!.Bus, _logger, id, string.IsNullOrEmpty(request.DeviceId) ? message.Source : request.DeviceId,
            message.Source, request.Kind, language, request.SampleRate, request.Channels, stt.Pool) { Room = request.Room };
        // The token is bound to who asked: the response goes only to the requester's private topic, and with a
        // proof hash the hello must also carry the requester's secret.
        _tokens[token] = new PendingToken(session, _engine.Clock.GetUtcNow() + _options.TokenLifetime, message.Source, request.HelloProofHash.Length == 0 ? null : request.HelloProofHash);
        string host = _options.AdvertisedHost ?? _options.ListenAddress;
        string authority = $"{(host.Contains(':') ? $"[{host}]" : host)}:{_server!.EndPoint.Port}";
        return ValueTask.FromResult(new VoiceSessionResponse
        {
            Accepted = true,
            SessionId = id,
            // With a certificate only the TLS endpoints are advertised; loopback plaintext (if allowed) is for old clients.
            Endpoint = (_server.Tls ? "tls://" : "tcp://") + authority,
            WebSocketEndpoint = (_server.Tls ? "wss://" : "ws://") + authority + AudioStreamServer.WebSocketPath,
            Token = token,
            TokenExpiresMs = (int)_options.TokenLifetime.TotalMilliseconds,
            MaxFrameBytes = _options.MaxFrameBytes,
            SttEngine = stt.Pool?.Engine.Name ?? "",
            OverBudget = stt.OverBudget,
        });

        static ValueTask<VoiceSessionResponse> Refuse(string error) => ValueTask.FromResult(new VoiceSessionResponse { Accepted = false, Error = error });
    }

    /// <summary>
    /// Takes a token (once): the session, or why not. <paramref name="hello"/> is the hello frame's text: the token, or
    /// <c>token.proof</c> where proof is the base64url secret whose SHA-256 the request committed to. A token bound to
    /// its requester is refused without the right proof, and stays valid for the requester.
    /// </summary>
    internal (VoiceSession? Session, string? Error) ClaimToken(string hello)
    {
        SweepTokens();
        int dot = hello.IndexOf('.', StringComparison.Ordinal);
        string token = dot < 0 ? hello : hello[..dot];
        if (!_tokens.TryGetValue(token, out PendingToken? bound)) return (null, "unknown or already used session token");
        if (bound.ProofHash is { } expected && !ProofMatches(dot < 0 ? null : hello[(dot + 1)..], expected))
        {
            _logger.LogWarning("Voice: a stream presented the token of session {Session} (requested by {Requester}) without the requester's proof; refused", bound.Session.Id, bound.Requester);
            return (null, "this session token was issued to another client (the hello lacks the requester's proof)");
        }
        if (!_tokens.TryRemove(token, out PendingToken? pending)) return (null, "unknown or already used session token");
        if (pending.Expires < _engine!.Clock.GetUtcNow())
        {
            pending.Session.Dispose();
            return (null, "the session token has expired");
        }
        _sessions[pending.Session.Id] = pending.Session;
        Ducking?.BeginSession(pending.Session.Id, pending.Session.Room, pending.Session.DeviceId);
        return (pending.Session, null);
    }

    private static bool ProofMatches(string? proof, byte[] expected)
    {
        if (string.IsNullOrEmpty(proof) || proof.Length > 128) return false;
        Span<byte> secret = stackalloc byte[96];
        if (System.Buffers.Text.Base64Url.DecodeFromChars(proof, secret, out _, out int written) != System.Buffers.OperationStatus.Done) return false;
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(secret[..written], hash);
        return CryptographicOperations.FixedTimeEquals(hash, expected);
    }

    /// <summary>Whether open sessions and live tokens fill <see cref="VoiceOptions.MaxSessions"/>; tokens nobody claimed (a client whose TLS handshake failed ...) hold a place only until they expire.</summary>
    private bool AtCapacity()
    {
        SweepTokens();
        return _sessions.Count + _tokens.Count >= _options.MaxSessions;
    }

    private void SweepTokens()
    {
        DateTimeOffset now = _engine!.Clock.GetUtcNow();
        foreach ((string token, PendingToken pending) in _tokens)
            if (pending.Expires < now && _tokens.TryRemove(token, out _)) pending.Session.Dispose();
    }

    internal async Task EndSessionAsync(VoiceSession session, string? error)
    {
        if (_sessions.TryRemove(session.Id, out _)) Ducking?.EndSession(session.Id);
        try
        {
            await session.PublishStatusAsync(error is null ? VoiceSessionState.Closed : VoiceSessionState.Failed, error ?? "").ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogDebug(e, "Voice session {Session}: status publish failed", session.Id);
        }
        session.Dispose();
    }

    // ---- MQTT audio chunks (simple devices) ----

    private async ValueTask OnDeviceAudioAsync(BusMessage<DeviceAudio> message, CancellationToken ct)
    {
        DeviceAudio chunk = message.Data;
        string device = DeviceFromTopic(message.Topic);
        string key = device + "/" + chunk.SessionId;
        if (!_mqttSessions.TryGetValue(key, out MqttAudioSession? state))
        {
            if (chunk.Pcm.Length == 0) return;
            if (AtCapacity())
            {
                _logger.LogInformation("Voice: MQTT audio from {Device} refused: too many sessions", device);
                await _engine!.Bus.PublishAsync(new VoiceSessionStatus { SessionId = chunk.SessionId, DeviceId = device, State = VoiceSessionState.Busy, Reason = $"busy: {_options.MaxSessions} voice sessions already open" },
                    new PublishOptions { Destination = message.Source }, ct).ConfigureAwait(false);
                return;
            }
            VoiceSession session;
            try
            {
                session = new VoiceSession(this, _engine!.Bus, _logger, string.IsNullOrEmpty(chunk.SessionId) ? Guid.NewGuid().ToString("N") : chunk.SessionId, device, message.Source,
                    VoiceSessionKind.Command, "en", chunk.SampleRate, chunk.Channels, Engines.Choose(new SttRequirement()).Pool);
            }
            catch (ArgumentOutOfRangeException e)
            {
                await _engine!.Bus.PublishAsync(new VoiceSessionStatus { SessionId = chunk.SessionId, DeviceId = device, State = VoiceSessionState.Failed, Reason = e.Message.Split(Environment.NewLine)[0] },
                    new PublishOptions { Destination = message.Source }, ct).ConfigureAwait(false);
                return;
            }
            state = new MqttAudioSession(session, chunk.Sequence, chunk.SampleRate, chunk.Channels);
            _mqttSessions[key] = state;
            _sessions[session.Id] = session;
            await session.PublishStatusAsync(VoiceSessionState.Streaming).ConfigureAwait(false);
        }

        string? error = null;
        lock (state)
        {
            if (state.Ended) return;
            state.LastChunk = _engine!.Clock.GetUtcNow();
            if (chunk.Sequence != state.NextSequence) error = $"audio chunk {chunk.Sequence} where {state.NextSequence} was expected (lost or out of order)";
            else if (chunk.SampleRate != state.SampleRate || chunk.Channels != state.Channels) error = $"audio format changed within the session ({chunk.SampleRate} Hz x {chunk.Channels})";
            else if (chunk.Pcm.Length % (2 * chunk.Channels) != 0) error = $"malformed chunk: {chunk.Pcm.Length} bytes is not a whole number of {2 * chunk.Channels}-byte samples";
            else if (chunk.Pcm.Length > 0)
            {
                state.NextSequence++;
                state.Session.Pipeline.Write(chunk.Pcm);
                return;
            }
            state.Ended = true;
        }
        await FinishMqttAsync(key, state, error).ConfigureAwait(false);
    }

    private async Task FinishMqttAsync(string key, MqttAudioSession state, string? error)
    {
        _mqttSessions.TryRemove(key, out _);
        if (error is null) await state.Session.CompleteAsync().ConfigureAwait(false);
        else await state.Session.DrainAsync().ConfigureAwait(false);
        await EndSessionAsync(state.Session, error).ConfigureAwait(false);
    }

    private async Task SweepIdleAsync()
    {
        DateTimeOffset now = _engine!.Clock.GetUtcNow();
        foreach ((string key, MqttAudioSession state) in _mqttSessions)
        {
            if (Volatile.Read(ref _disposing)) return; // a sweep that outlives its timer must not race the disposal
            lock (state)
            {
                if (state.Ended || now - state.LastChunk < _options.MqttIdleTimeout) continue;
                state.Ended = true;
            }
            try { await FinishMqttAsync(key, state, null).ConfigureAwait(false); }
            catch (Exception e) when (e is not OutOfMemoryException) { _logger.LogWarning(e, "Voice: closing idle MQTT audio session failed"); }
        }
    }

    private static string DeviceFromTopic(string topic)
    {
        // alicia/devices/{device_id}/audio
        string[] parts = topic.Split('/');
        return parts.Length == 4 ? parts[2] : topic;
    }

    private bool _disposing;
    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Volatile.Write(ref _disposing, true);
        _sweeper?.Dispose();
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            if (_owned[i] is SttEngineManager or ISpeechToText)
                foreach (VoiceSession s in _sessions.Values) s.Cancel();
            await _owned[i].DisposeAsync().ConfigureAwait(false);
        }
        foreach (PendingToken pending in _tokens.Values) pending.Session.Dispose();
        _tokens.Clear();
        _vad?.Dispose();
    }

    private sealed record PendingToken(VoiceSession Session, DateTimeOffset Expires, string Requester, byte[]? ProofHash);

    private sealed class MqttAudioSession(VoiceSession session, long firstSequence, int sampleRate, int channels)
    {
        public VoiceSession Session { get; } = session;
        public long NextSequence { get; set; } = firstSequence;
        public int SampleRate { get; } = sampleRate;
        public int Channels { get; } = channels;
        public DateTimeOffset LastChunk { get; set; }
        public bool Ended { get; set; }
    }
}
