using System.Collections.Concurrent;
using System.Text;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Registry;
using Alicia.Engine.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alicia.Engine.Monitoring;

/// <summary>
/// Centralized health: gathers the heartbeats of every service and device (and the registry's view of devices), judges
/// them (<see cref="HealthEvaluator"/>), publishes the system's state retained on <c>alicia/system/health/state</c> when it
/// changes, answers <see cref="HealthRequest"/>s, times voice requests against their budgets and counts broker connections.
/// </summary>
public sealed class MonitoringService : IEngineService, IBrokerExtension
{
    private const int RecentTraces = 50;

    private readonly MonitoringOptions _options;
    private readonly HealthEvaluator _evaluator;
    private readonly ConcurrentDictionary<string, ComponentObservation> _heartbeats = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<VoiceTrace> _traces = new();
    private readonly List<IAsyncDisposable> _subscriptions = [];
    private readonly CancellationTokenSource _stopping = new();
    private AliciaEngine? _engine;
    private RegistryService? _registry;
    private ILogger _logger = NullLogger.Instance;
    private Task? _loop;
    private string _lastSignature = "";
    private long _version;
    private SecurityEventSource? _securityEvents;
    private AuditWatch? _auditWatch;
    private DeviceControlWatch? _deviceControl;
    private readonly SemaphoreSlim _evaluating = new(1, 1);

    internal MonitoringService(MonitoringOptions? options = null, MonitoringMetrics? metrics = null)
    {
        _options = options ?? new MonitoringOptions();
        _evaluator = new HealthEvaluator(_options);
        Metrics = metrics ?? new MonitoringMetrics();
        Budgets = new LatencyBudgetMonitor(_options.Budgets, Metrics);
        Budgets.Exceeded += OnBudgetExceeded;
    }

    public string Name => "monitoring";

    public IReadOnlyList<Type> StartsAfter { get; } = [typeof(RegistryService)];

    internal MonitoringOptions Options => _options;
    internal MonitoringMetrics Metrics { get; }
    internal LatencyBudgetMonitor Budgets { get; }

    /// <summary>The last judged state (before start: empty, healthy).</summary>
    internal SystemHealth Current { get; private set; } = new();

    /// <summary>Raised after each evaluation whose outcome differs from the last (a status, an online flag or a reason changed).</summary>
    internal event Action<SystemHealth>? Changed;

    /// <summary>Raised for each voice request seen finished, with its stage timings.</summary>
    internal event Action<VoiceTrace>? VoiceTraced;

    /// <summary>The most recent voice requests, oldest first.</summary>
    internal IReadOnlyList<VoiceTrace> Traces => [.. _traces];

    /// <summary>The alert rules (set at start when the engine has a data directory).</summary>
    internal AlertManager? Alerts { get; private set; }

    void IBrokerExtension.ConfigureBroker(EmbeddedBroker broker, AliciaEngine engine)
    {
        broker.Configuring += server =>
        {
            server.ClientConnectedAsync += _ => { Metrics.Connected(); return Task.CompletedTask; };
            server.ClientDisconnectedAsync += _ => { Metrics.Disconnected(); return Task.CompletedTask; };
        };
    }

    public async Task StartAsync(AliciaEngine engine, CancellationToken cancellationToken)
    {
        _engine = engine;
        _logger = engine.LoggerFactory.CreateLogger<MonitoringService>();
        _deviceControl = new DeviceControlWatch(Budgets, engine.Clock);
        _registry = engine.Services.OfType<RegistryService>().FirstOrDefault();
        string alertsPath = string.IsNullOrEmpty(_options.Alerts.DatabasePath) ? Path.Combine(engine.Options.DataDirectory, "alerts.db") : _options.Alerts.DatabasePath;
        Alerts = new AlertManager(_options.Alerts, new AlertStore(alertsPath), engine.Clock);
        Alerts.Changed += OnAlertChanged;
        Metrics.FiringAlerts = () => Alerts.Firing.Count;
        _securityEvents = new SecurityEventSource(engine, Alerts);
        if (engine.Services.OfType<Alicia.Engine.Security.Gateway.SecurityGateway>().FirstOrDefault()?.Audit is { } audit)
            _auditWatch = new AuditWatch(audit, Alerts, engine.Identity, _options.Alerts.AuditVerifyInterval, engine.Clock);

        AliciaBus bus = engine.Bus;
        var all = new SubscribeOptions { ReceiveAll = true };
        _subscriptions.Add(await bus.SubscribeAsync<ServiceHealth>((m, _) => { OnHeartbeat(m); return default; }, all, cancellationToken: cancellationToken).ConfigureAwait(false));
        _subscriptions.Add(await bus.SubscribeAsync<SttResponse>((m, _) => { OnTranscript(m); return default; }, all, cancellationToken: cancellationToken).ConfigureAwait(false));
        // Device control: a command is timed to the device's echo (its next status or data report).
        _subscriptions.Add(await bus.SubscribeAsync<DeviceCommand>((m, _) => { OnCommand(m.Topic, m.Envelope.Metadata, m.Envelope.Timestamp); return default; }, all, cancellationToken: cancellationToken).ConfigureAwait(false));
        _subscriptions.Add(await bus.SubscribeAsync<DeviceData>((m, _) => { OnDeviceReport(m.Topic); return default; }, all, cancellationToken: cancellationToken).ConfigureAwait(false));
        _subscriptions.Add(await bus.RespondAsync<HealthRequest, HealthReport>((m, _) => ValueTask.FromResult(Report(m.Data.Component)), concurrency: 4, cancellationToken: cancellationToken).ConfigureAwait(false));
        // A device appearing or going offline shows at once, not at the next tick.
        if (_registry?.Registry is { } registry) registry.Changed += change => { _ = EvaluateQuietlyAsync(); };
        await EvaluateAsync(force: true, cancellationToken).ConfigureAwait(false);
        _loop = Task.Run(() => LoopAsync(_stopping.Token));
    }

    /// <summary>The system's health now, or one component's (404 when unknown).</summary>
    internal HealthReport Report(string component)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        SystemHealth health = Evaluate();
        double ms = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        Budgets.Check("health", ms, [new("evaluate", ms)]);
        if (string.IsNullOrEmpty(component)) return new HealthReport { Health = health };
        List<ComponentHealth> one = [.. health.Components.Where(c => c.Name == component)];
        return new HealthReport { Status = one.Count == 0 ? 404 : 200, Health = new SystemHealth { Status = health.Status, EvaluatedAt = health.EvaluatedAt, Components = one, Version = health.Version } };
    }

    /// <summary>
    /// Checks a request timed by another part of the engine (voice's audio delivery) against its budget; over it,
    /// <see cref="BudgetExceeded"/> naming the stage is published.
    /// </summary>
    public void CheckBudget(string budget, double totalMs, IReadOnlyList<KeyValuePair<string, double>> stages, string traceId = "") =>
        Budgets.Check(budget, totalMs, stages, traceId);

    private void OnHeartbeat(BusMessage<ServiceHealth> message)
    {
        ServiceHealth health = message.Data;
        AliciaEngine engine = _engine!;
        // The engine's own health is read directly; anyone else speaks only for itself or for a device it registered.
        if (health.Service == engine.Name) return;
        bool own = health.Service == message.Source
            || (_registry?.Registry.Get(health.Service) is { } device && (device.Owner == message.Source || (device.IsPlain && device.DeviceId == message.Source)));
        if (!own) return;
        _heartbeats[health.Service] = new ComponentObservation(health.Service, "service", health, engine.Clock.GetUtcNow());
    }

    private void OnCommand(string topic, IReadOnlyDictionary<string, string>? metadata, DateTimeOffset sentAt)
    {
        if (DeviceControlWatch.DeviceOf(topic) is { } device) _deviceControl?.Commanded(device, Alicia.Engine.Bus.Tracing.TraceContext.TraceIdOf(metadata), sentAt);
    }

    private void OnDeviceReport(string topic)
    {
        if (DeviceControlWatch.DeviceOf(topic) is { } device) _deviceControl?.Echoed(device);
    }

    private void OnTranscript(BusMessage<SttResponse> message)
    {
        SttResponse r = message.Data;
        List<KeyValuePair<string, double>> stages = [];
        foreach (string stage in (ReadOnlySpan<string>)["vad_endpoint_ms", "stt_queue_ms", "stt_ms"])
        {
            if (!r.Timings.TryGetValue(stage, out double ms)) continue;
            string name = stage[..^3];
            stages.Add(new(name, ms));
            Metrics.VoiceStage(name, ms);
        }
        double total = r.Timings.TryGetValue("end_of_speech_to_result_ms", out double t) ? t : stages.Sum(s => s.Value);
        string traceId = Alicia.Engine.Bus.Tracing.TraceContext.TraceIdOf(message.Envelope.Metadata);
        var trace = new VoiceTrace(r.SessionId, r.DeviceId, r.Utterance, r.Text, r.Status, _engine!.Clock.GetUtcNow(), stages, total, traceId);
        _traces.Enqueue(trace);
        while (_traces.Count > RecentTraces) _traces.TryDequeue(out _);
        VoiceTraced?.Invoke(trace);
        // Rebuilt only when the voice service recorded no spans of its own (it says so in the transcript's metadata).
        if (message.Envelope.Metadata?.ContainsKey("voice_spans") != true)
            VoiceStageSpans.Record(trace, trace.At, message.Envelope.Metadata?.GetValueOrDefault(Alicia.Engine.Bus.Tracing.TraceContext.TraceParent));
        Budgets.Check("voice", total, stages, traceId);
    }

    private void OnBudgetExceeded(BudgetExceeded breach)
    {
        Alerts?.BudgetBreached(breach.Budget, breach.Stage);
        if (_engine is not { } engine) return;
        _logger.LogWarning("Latency budget '{Budget}' exceeded: {Elapsed:0.#} ms > {Limit:0.#} ms, most in stage '{Stage}' ({StageMs:0.#} ms)",
            breach.Budget, breach.ElapsedMs, breach.BudgetMs, breach.Stage, breach.StageMs);
        _ = PublishQuietlyAsync(() => engine.Bus.PublishAsync(breach, PublishOptions.Default, _stopping.Token));
    }

    private void OnAlertChanged(AlertNotice notice)
    {
        if (_engine is not { } engine) return;
        _logger.Log(notice.State == AlertState.Firing ? LogLevel.Warning : LogLevel.Information, "Alert {State}: {Id}: {Message}", notice.State, notice.Id, notice.Message);
        _ = PublishQuietlyAsync(() => engine.Bus.PublishAsync(notice, PublishOptions.Default, _stopping.Token));
    }

    private async Task PublishQuietlyAsync(Func<Task> publish)
    {
        try { await publish().ConfigureAwait(false); }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested) { }
        catch (Exception e) when (e is not OutOfMemoryException) { _logger.LogDebug(e, "Monitoring publish failed"); }
    }

    private SystemHealth Evaluate()
    {
        AliciaEngine engine = _engine ?? throw new InvalidOperationException("the monitoring service is not started");
        DateTimeOffset now = engine.Clock.GetUtcNow();
        List<ComponentObservation> observations = [new(engine.Name, "engine", engine.Health(), now)];
        var broker = new Dictionary<string, HealthStatus> { ["broker"] = engine.Bus.IsConnected ? HealthStatus.Healthy : HealthStatus.Unhealthy };
        IReadOnlyList<IEngineService> starting = engine.StartingServices;
        IReadOnlyList<(IEngineService Service, Exception Error)> failed = engine.FailedServices;
        foreach (IEngineService service in engine.Services)
        {
            // In-process services live and die with the engine: they are up, and depend on the broker. One still loading
            // in the background (models) is degraded until it is ready; one whose background start failed is down.
            HealthStatus status = failed.Any(f => ReferenceEquals(f.Service, service)) ? HealthStatus.Unhealthy
                : starting.Contains(service) ? HealthStatus.Degraded : HealthStatus.Healthy;
            var health = new ServiceHealth { Service = service.Name, Status = status, Dependencies = broker, IntervalMs = int.MaxValue / 4 };
            if (status == HealthStatus.Degraded) health.Metrics["starting"] = 1;
            observations.Add(new ComponentObservation(service.Name, "service", health, now));
        }
        var devices = new HashSet<string>(StringComparer.Ordinal);
        if (_registry?.Registry is { } registry)
        {
            foreach (DeviceRecord device in registry.All)
            {
                devices.Add(device.DeviceId);
                ServiceHealth reported = _heartbeats.TryGetValue(device.DeviceId, out ComponentObservation? beat) ? beat.Health
                    : new ServiceHealth { Service = device.DeviceId, Status = device.State == DeviceState.Degraded ? HealthStatus.Degraded : HealthStatus.Healthy };
                observations.Add(new ComponentObservation(device.DeviceId, "device", reported, device.LastSeen, device.Location, device.State == DeviceState.Offline));
            }
        }
        foreach (ComponentObservation beat in _heartbeats.Values)
            if (!devices.Contains(beat.Name)) observations.Add(beat);
        SystemHealth state = _evaluator.Evaluate(observations, now);
        state.Version = Interlocked.Read(ref _version);
        return state;
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.EvaluationInterval, _engine!.Clock);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                await EvaluateQuietlyAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) { }
    }

    private async Task EvaluateQuietlyAsync()
    {
        try { await EvaluateAsync(force: false, _stopping.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested) { }
        catch (ObjectDisposedException) when (_stopping.IsCancellationRequested) { }
        catch (Exception e) when (e is not OutOfMemoryException) { _logger.LogWarning(e, "Health evaluation failed"); }
    }

    private async Task EvaluateAsync(bool force, CancellationToken cancellationToken)
    {
        await _evaluating.WaitAsync(cancellationToken).ConfigureAwait(false);
        try { await EvaluateLockedAsync(force, cancellationToken).ConfigureAwait(false); }
        finally { _evaluating.Release(); }
    }

    private async Task EvaluateLockedAsync(bool force, CancellationToken cancellationToken)
    {
        SystemHealth state = Evaluate();
        string signature = Signature(state);
        _securityEvents?.Poll();
        _auditWatch?.Check();
        Alerts?.Observe(state);
        if (!force && signature == _lastSignature) { Current = state; Metrics.LatestHealth = state; return; }
        _lastSignature = signature;
        state.Version = Interlocked.Increment(ref _version);
        Current = state;
        Metrics.LatestHealth = state;
        Changed?.Invoke(state);
        await _engine!.Bus.PublishAsync(state, new PublishOptions { Retain = true }, cancellationToken).ConfigureAwait(false);
    }

    private static string Signature(SystemHealth state)
    {
        var text = new StringBuilder().Append(state.Status);
        foreach (ComponentHealth c in state.Components) text.Append('|').Append(c.Name).Append(':').Append(c.Status).Append(c.Online).Append(c.Reason);
        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null) await _loop.ConfigureAwait(false);
        foreach (IAsyncDisposable s in _subscriptions) await s.DisposeAsync().ConfigureAwait(false);
        _securityEvents?.Dispose();
        Alerts?.Dispose();
        Metrics.Dispose();
        _stopping.Dispose();
    }
}
