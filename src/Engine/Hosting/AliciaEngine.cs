using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Security;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alicia.Engine.Hosting;

/// <summary>
/// The engine as a library: the broker (embedded, or a connection to an external one), the trust store,
/// the engine's own signed bus client, its core services (heartbeat, the API responder) and the
/// capabilities added to it (<see cref="IEngineService"/>). Hosts compose it with
/// <c>services.AddAlicia(...)</c>, where it runs as an <see cref="IHostedService"/>; it can also be
/// used on its own with <see cref="StartAsync"/> / <see cref="StopAsync"/> / <see cref="DisposeAsync"/>.
/// </summary>
public sealed class AliciaEngine : IHostedService, IAsyncDisposable
{
    private readonly AliciaEngineOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly TimeProvider _clock;
    private readonly List<IAsyncDisposable> _services = [];
    private readonly List<IEngineService> _engineServices = [];
    // Services constructed only once the broker listens, each at its place among the others (AddDeferredService).
    private readonly List<(int Position, Func<IEngineService> Construct)> _deferred = [];
    private readonly CancellationTokenSource _stopping = new();
    private EmbeddedBroker? _broker;
    private AliciaBus? _bus;
    private SigningIdentity? _identity;
    private Task? _heartbeat;
    private Task _backgroundStart = Task.CompletedTask;
    private readonly List<IEngineService> _starting = [];
    private readonly List<(IEngineService Service, Exception Error)> _failed = [];
    private long _heartbeatSequence;
    private bool _started;

    /// <summary>
    /// The engine with its capabilities (<paramref name="services"/>, started in dependency order) and the message
    /// types it understands beside Alicia's (<paramref name="messages"/>), as <c>AddAlicia</c> composes it; on its
    /// own, <c>new AliciaEngine(options)</c> and <see cref="AddService"/>.
    /// </summary>
    public AliciaEngine(AliciaEngineOptions options, IEnumerable<IEngineService>? services = null, ILoggerFactory? loggerFactory = null,
        IMeterFactory? meterFactory = null, TimeProvider? clock = null, IEnumerable<MessageSet>? messages = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Messages = MessageSet.Combine(messages ?? []);
        _options = options;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<AliciaEngine>();
        _clock = clock ?? TimeProvider.System;
        Keys = new KeyDirectory(options.KeyDirectory);
        Metrics = new BusMetrics(meterFactory);
        Trust = new TrustStore(Keys, _clock);
        // The engine countersigns for devices that cannot sign: its own attestations are trusted, without
        // writing into the caller's options.
        VerifierOptions = options.Security.WithAttester(options.Name);
        Verifier = new EnvelopeVerifier(Trust, VerifierOptions, Metrics, _clock);
        if (services is not null) _engineServices.AddRange(services);
    }

    /// <summary>The message types the engine's bus and gateway understand: Alicia's and those added with <c>AddMessages</c>.</summary>
    public MessageSet Messages { get; }

    /// <summary>The verification settings in force: <see cref="AliciaEngineOptions.Security"/> with the engine as a trusted attester.</summary>
    public VerifierOptions VerifierOptions { get; }

    public KeyDirectory Keys { get; }
    public TrustStore Trust { get; }
    public BusMetrics Metrics { get; }
    public EnvelopeVerifier Verifier { get; }
    public EmbeddedBroker? Broker => _broker;
    public AliciaBus Bus => _bus ?? throw new InvalidOperationException("the engine is not started");
    public string Name => _options.Name;

    /// <summary>Where clients reach the broker: the embedded broker's TCP endpoint or the external URL.</summary>
    public BrokerEndpoint? ClientEndpoint { get; private set; }

    public DateTimeOffset StartedAt { get; private set; }

    /// <summary>When the broker accepted connections (the embedded broker listening, or the external one connected); before start, default.</summary>
    public DateTimeOffset BrokerReadyAt { get; private set; }

    /// <summary>
    /// Completes once every service has started, including those started in the background
    /// (<see cref="AliciaEngineOptions.BackgroundStart"/>); faults when one of those failed (the engine keeps running without it).
    /// </summary>
    public Task Ready => _backgroundStart;

    /// <summary>Services still starting in the background (for readiness checks).</summary>
    internal IReadOnlyList<IEngineService> StartingServices { get { lock (_starting) return [.. _starting]; } }

    /// <summary>Background services whose start failed, with why.</summary>
    internal IReadOnlyList<(IEngineService Service, Exception Error)> FailedServices { get { lock (_starting) return [.. _failed]; } }

    public AliciaEngineOptions Options => _options;

    /// <summary>Told the name of each start phase as it ends (the host's startup trace); null: nobody listens.</summary>
    internal Action<string>? StartupTrace { get; set; }
    public ILoggerFactory LoggerFactory => _loggerFactory;
    public TimeProvider Clock => _clock;

    /// <summary>
    /// How the engine's own clients (its bus, the raw links of its services) log in: in process, to its own
    /// broker (and its gateway) with the broker's secret; to an external broker with the configured credentials.
    /// </summary>
    internal (string? Username, byte[]? Password) ClientCredentials =>
        _broker is not null ? (_options.Name, _broker.InProcessSecret) : (_options.Bus.Username, _options.Bus.Password);

    /// <summary>The engine's own signing identity (after start).</summary>
    public SigningIdentity Identity => _identity ?? throw new InvalidOperationException("the engine is not started");

    /// <summary>The services added to this engine (in start order once started).</summary>
    public IReadOnlyList<IEngineService> Services => _engineServices;

    /// <summary>Adds a service to start with the engine (before <see cref="StartAsync"/>).</summary>
    public AliciaEngine AddService(IEngineService service)
    {
        if (_started) throw new InvalidOperationException("add services before the engine starts");
        _engineServices.Add(service);
        return this;
    }

    /// <summary>
    /// Adds a service that the engine constructs once its broker listens (so that its construction does not delay the
    /// broker), at this place in the order of the services. It must not be an <see cref="IBrokerExtension"/>: those shape
    /// the broker before it starts.
    /// </summary>
    internal AliciaEngine AddDeferredService(Func<IEngineService> construct)
    {
        if (_started) throw new InvalidOperationException("add services before the engine starts");
        _deferred.Add((_engineServices.Count + _deferred.Count, construct));
        return this;
    }

    /// <summary>Constructs the deferred services, each at the place it was added.</summary>
    private void ConstructDeferred()
    {
        if (_deferred.Count == 0) return;
        var all = new List<IEngineService>(_engineServices.Count + _deferred.Count);
        int next = 0;
        foreach ((int position, Func<IEngineService> construct) in _deferred)
        {
            while (all.Count < position) all.Add(_engineServices[next++]);
            IEngineService service = construct();
            if (service is IBrokerExtension)
                throw new InvalidOperationException($"service '{service.Name}' shapes the broker ({nameof(IBrokerExtension)}): it cannot be constructed after the broker starts");
            all.Add(service);
        }
        while (next < _engineServices.Count) all.Add(_engineServices[next++]);
        _deferred.Clear();
        _engineServices.Clear();
        _engineServices.AddRange(all);
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_started) throw new InvalidOperationException("the engine is already started");
        _started = true;
        StartedAt = _clock.GetUtcNow();
        StartupTrace?.Invoke("engine: start");
        _identity = Keys.Load(_options.Name, createIfMissing: true);
        Trust.Trust(_identity.Name, _identity.PublicKey);
        StartupTrace?.Invoke("engine: identity loaded");

        BrokerEndpoint busEndpoint;
        if (string.IsNullOrWhiteSpace(_options.BrokerUrl))
        {
            _broker = new EmbeddedBroker(_options.Broker, Metrics, _loggerFactory.CreateLogger<EmbeddedBroker>(), _options.Security.MaxMessageBytes);
            // The broker's extensions (constructed already: never deferred), in their start order.
            foreach (IEngineService service in EngineServiceOrder.Sort(_engineServices))
            {
                if (service is IBrokerExtension extension) extension.ConfigureBroker(_broker, this);
            }
            StartupTrace?.Invoke("engine: broker configured");
            await _broker.StartAsync(cancellationToken).ConfigureAwait(false);
            StartupTrace?.Invoke("engine: broker listening");
            BrokerReadyAt = _clock.GetUtcNow();
            _logger.LogInformation("Embedded broker accepting connections {Ms:F1} ms after the engine's start", (BrokerReadyAt - StartedAt).TotalMilliseconds);
            busEndpoint = BrokerEndpoint.InProcess(_broker.InMemory);
            if (_broker.TcpEndPoint is { } tcp) ClientEndpoint = BrokerEndpoint.Tcp(tcp.Address.ToString(), tcp.Port);
        }
        else
        {
            busEndpoint = BrokerEndpoint.Parse(_options.BrokerUrl);
            ClientEndpoint = busEndpoint;
        }

        // The broker serves, guarded; now the services that could wait for it, then the start order of them all.
        ConstructDeferred();
        IReadOnlyList<IEngineService> ordered = EngineServiceOrder.Sort(_engineServices);
        _engineServices.Clear();
        _engineServices.AddRange(ordered);
        StartupTrace?.Invoke("engine: services constructed and ordered");

        var busOptions = new BusOptions
        {
            ClientId = _options.Bus.ClientId ?? _options.Name,
            RequestTimeout = _options.Bus.RequestTimeout,
            ReconnectMinDelay = _options.Bus.ReconnectMinDelay,
            ReconnectMaxDelay = _options.Bus.ReconnectMaxDelay,
            Username = ClientCredentials.Username,
            Password = ClientCredentials.Password,
            EncryptedTopics = _options.Bus.EncryptedTopics,
            ClientCertificatePath = _options.Bus.ClientCertificatePath,
            ClientKeyPath = _options.Bus.ClientKeyPath,
            CaCertificatePath = _options.Bus.CaCertificatePath,
        };
        _bus = await AliciaBus.ConnectAsync(busEndpoint, _identity, Verifier, busOptions, _loggerFactory, _clock, cancellationToken, Messages).ConfigureAwait(false);
        // The engine can open payloads sealed for it (X25519 key beside its signing key).
        _bus.EnableEncryption(Keys);
        if (_broker is null) BrokerReadyAt = _clock.GetUtcNow();
        StartupTrace?.Invoke("engine: bus connected");

        var api = new ApiService(this, _clock);
        _services.Add(await _bus.RespondAsync<ApiRequest, ApiResponse>(api.HandleAsync,
            new SubscribeOptions { ShareGroup = _options.ApiShareGroup }, cancellationToken: cancellationToken).ConfigureAwait(false));

        StartupTrace?.Invoke("engine: api responder");
        List<IEngineService> background = _options.BackgroundStart ? BackgroundServices(_engineServices) : [];
        foreach (IEngineService service in _engineServices)
        {
            if (background.Contains(service)) continue;
            await StartServiceAsync(service, cancellationToken).ConfigureAwait(false);
        }
        if (background.Count > 0)
        {
            lock (_starting) _starting.AddRange(background);
            _backgroundStart = Task.Run(() => StartInBackgroundAsync(background, _stopping.Token), CancellationToken.None);
        }

        _heartbeat = Task.Run(() => HeartbeatLoopAsync(_stopping.Token));
        _logger.LogInformation("Alicia engine '{Name}' started; bus on {Endpoint}", _options.Name, ClientEndpoint?.ToString() ?? "in-memory");
    }

    private async Task StartServiceAsync(IEngineService service, CancellationToken cancellationToken)
    {
        long began = _clock.GetTimestamp();
        await service.StartAsync(this, cancellationToken).ConfigureAwait(false);
        lock (_starting) _services.Add(service);
        StartupTrace?.Invoke($"service {service.Name} started");
        _logger.LogInformation("Service '{Service}' started in {Ms:F1} ms", service.Name, _clock.GetElapsedTime(began).TotalMilliseconds);
    }

    /// <summary>Services that declare a heavy start and that no other service starts after (they would wait for it anyway).</summary>
    private static List<IEngineService> BackgroundServices(IReadOnlyList<IEngineService> ordered)
    {
        var background = new List<IEngineService>();
        foreach (IEngineService service in ordered)
        {
            if (!service.StartsInBackground) continue;
            bool needed = ordered.Any(other => !ReferenceEquals(other, service) && other.StartsAfter.Any(t => t.IsInstanceOfType(service)));
            if (!needed) background.Add(service);
        }
        return background;
    }

    /// <summary>Starts the heavy services one after the other; a failure is logged and reported, and the engine keeps running without that service.</summary>
    private async Task StartInBackgroundAsync(List<IEngineService> background, CancellationToken cancellationToken)
    {
        List<Exception> errors = [];
        foreach (IEngineService service in background)
        {
            try
            {
                await StartServiceAsync(service, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                lock (_starting) _services.Add(service); // stopped while loading: what it opened is released with the engine
                throw;
            }
            catch (Exception e)
            {
                _logger.LogError(e, "Service '{Service}' failed to start in the background; the engine runs without it", service.Name);
                lock (_starting) _failed.Add((service, e));
                errors.Add(e);
                // What it opened before failing is released with the engine.
                lock (_starting) _services.Add(service);
            }
            finally
            {
                lock (_starting) _starting.Remove(service);
            }
        }
        _logger.LogInformation("Alicia engine '{Name}': every service started ({Ms:F1} ms after the engine's start)", _options.Name, (_clock.GetUtcNow() - StartedAt).TotalMilliseconds);
        if (errors.Count > 0) throw new AggregateException("services failed to start in the background", errors);
    }

    /// <summary>The engine's health in the service health schema now; the heartbeat adds its sequence number.</summary>
    public ServiceHealth Health()
    {
        bool connected = _bus?.IsConnected == true;
        return new ServiceHealth
        {
            Service = _options.Name,
            Status = connected ? HealthStatus.Healthy : HealthStatus.Degraded,
            LastHeartbeat = _clock.GetUtcNow(),
            IntervalMs = (int)_options.HeartbeatInterval.TotalMilliseconds,
            Sequence = Interlocked.Read(ref _heartbeatSequence),
            Metrics = new Dictionary<string, double>
            {
                ["uptime_s"] = (_clock.GetUtcNow() - StartedAt).TotalSeconds,
                ["accepted"] = Metrics.AcceptedCount,
                ["published"] = Metrics.PublishedCount,
                ["rejected"] = Enum.GetValues<RejectReason>().Sum(r => (double)Metrics.RejectedCount(r)),
                ["qos0_dropped"] = Metrics.Qos0DroppedCount,
                ["qos1_dropped"] = Metrics.Qos1DroppedCount,
            },
            Dependencies = new Dictionary<string, HealthStatus> { ["broker"] = connected ? HealthStatus.Healthy : HealthStatus.Unhealthy },
        };
    }

    private async Task HeartbeatLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.HeartbeatInterval, _clock);
        do
        {
            try
            {
                ServiceHealth health = Health();
                health.Sequence = Interlocked.Increment(ref _heartbeatSequence);
                await Bus.PublishAsync(health, PublishOptions.Default, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                _logger.LogWarning(e, "Heartbeat publish failed");
            }
        }
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Stops the heartbeat, every service in reverse start order, the bus and the broker.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default) => await DisposeAsync().ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        // A service still loading finishes (or gives up on the cancellation) before anything is disposed under it.
        try { await _backgroundStart.ConfigureAwait(false); }
        catch (Exception e) when (e is OperationCanceledException or AggregateException) { }
        if (_heartbeat is not null)
        {
            try { await _heartbeat.ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }
        IAsyncDisposable[] started;
        lock (_starting) started = [.. _services];
        for (int i = started.Length - 1; i >= 0; i--) await started[i].DisposeAsync().ConfigureAwait(false);
        if (_bus is not null) await _bus.DisposeAsync().ConfigureAwait(false);
        if (_broker is not null) await _broker.DisposeAsync().ConfigureAwait(false);
        _identity?.Dispose();
        Metrics.Dispose();
        _stopping.Dispose();
        _logger.LogInformation("Alicia engine '{Name}' stopped", _options.Name);
    }
}
