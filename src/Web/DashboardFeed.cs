using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Alicia.Contracts.Messages;
using Alicia.Engine.Hosting;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Registry;
using Alicia.Engine.Security;

namespace Alicia.Web;

/// <summary>
/// The dashboard's live feed: turns the monitoring service's and the registry's events into Server-Sent Events for every
/// connected page (devices, health, alerts, voice traces). Each page has a small bounded queue: a stalled browser loses
/// old updates, never slows the engine. With no page open, nothing is serialised.
/// </summary>
internal sealed class DashboardFeed : IDisposable
{
    private readonly AliciaEngine _engine;
    private readonly MonitoringService _monitoring;
    private readonly RegistryService? _registry;
    private readonly Lock _lock = new();
    private readonly List<Channel<string>> _clients = [];
    private readonly VoiceSpans _spans;

    public DashboardFeed(AliciaEngine engine, MonitoringService monitoring)
    {
        _engine = engine;
        _monitoring = monitoring;
        // The real spans of a voice request replace the stages rebuilt from its transcript, once they are recorded.
        _spans = new VoiceSpans(() => Clients > 0);
        _spans.Updated += OnSpans;
        _registry = engine.Services.OfType<RegistryService>().FirstOrDefault();
        _monitoring.Changed += OnHealth;
        _monitoring.VoiceTraced += OnTrace;
        if (_monitoring.Alerts is { } alerts) alerts.Changed += OnAlert;
        if (_registry is not null) _registry.Registry.Changed += OnDevices;
    }

    public int Clients
    {
        get { lock (_lock) return _clients.Count; }
    }

    public DashboardSnapshot Snapshot() => new(
        _engine.Name,
        _monitoring.Current,
        Devices(),
        [.. _monitoring.Alerts?.History(50) ?? []],
        [.. _monitoring.Traces.Select(View)],
        Metrics());

    /// <summary>Streams events to one page until it goes away.</summary>
    public async Task StreamAsync(Stream body, Func<Task> flush, CancellationToken cancellationToken)
    {
        Channel<string> channel = Channel.CreateBounded<string>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        lock (_lock) _clients.Add(channel);
        try
        {
            await WriteAsync(body, Event("snapshot", JsonSerializer.Serialize(Snapshot(), DashboardJsonContext.Default.DashboardSnapshot)), cancellationToken).ConfigureAwait(false);
            await flush().ConfigureAwait(false);
            await foreach (string message in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                await WriteAsync(body, message, cancellationToken).ConfigureAwait(false);
                if (channel.Reader.Count == 0) await flush().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) { }
        catch (IOException) { }
        finally
        {
            lock (_lock) _clients.Remove(channel);
        }
    }

    private static ValueTask WriteAsync(Stream body, string message, CancellationToken cancellationToken) =>
        body.WriteAsync(Encoding.UTF8.GetBytes(message), cancellationToken);

    private static string Event(string name, string json) => $"event: {name}\ndata: {json}\n\n";

    private void Broadcast(Func<string> message)
    {
        Channel<string>[] clients;
        lock (_lock)
        {
            if (_clients.Count == 0) return;
            clients = [.. _clients];
        }
        string text = message();
        foreach (Channel<string> client in clients) client.Writer.TryWrite(text);
    }

    private void OnHealth(SystemHealth health) => Broadcast(() =>
        Event("health", JsonSerializer.Serialize(health, DashboardJsonContext.Default.SystemHealth))
        + Event("metrics", JsonSerializer.Serialize(Metrics(), DashboardJsonContext.Default.MetricsView)));

    private void OnTrace(VoiceTrace trace) => Broadcast(() => Event("trace", JsonSerializer.Serialize(View(trace), DashboardJsonContext.Default.TraceView)));

    /// <summary>More of a voice trace's spans have ended: its requests are sent again (the page replaces them in place).</summary>
    private void OnSpans(string traceId)
    {
        foreach (VoiceTrace trace in _monitoring.Traces)
            if (trace.TraceId == traceId) OnTrace(trace);
    }

    /// <summary>The request's waterfall from its real spans when they were recorded; else from its transcript's timings.</summary>
    internal TraceView View(VoiceTrace trace)
    {
        IReadOnlyList<SpanRecord> spans = _spans.Of(trace.TraceId, trace.Utterance);
        if (spans.Count == 0) return ToView(trace);
        DateTime start = spans[0].Start, end = spans.Max(s => s.Start + s.Duration);
        StageView[] stages = [.. spans.Select(s => new StageView(s.Name, (s.Start - start).TotalMilliseconds, s.Duration.TotalMilliseconds))];
        return new TraceView(trace.SessionId, trace.DeviceId, trace.Utterance, trace.Text, trace.Status, trace.At, (end - start).TotalMilliseconds, trace.TraceId, stages) { FromSpans = true };
    }

    private void OnAlert(AlertNotice alert) => Broadcast(() => Event("alert", JsonSerializer.Serialize(alert, DashboardJsonContext.Default.AlertNotice)));

    // Raised under the registry's lock: the list is read and sent from the thread pool, after the change is in the index.
    private void OnDevices(RegistryChange change) => ThreadPool.QueueUserWorkItem(static feed =>
        feed.Broadcast(() => Event("devices", JsonSerializer.Serialize(feed.Devices(), DashboardJsonContext.Default.DeviceViewArray))), this, preferLocal: false);

    private DeviceView[] Devices() => _registry is null ? [] :
        [.. _registry.Registry.All.Select(d => new DeviceView(d.DeviceId, d.DeviceType, d.Location, d.State.ToString().ToLowerInvariant(), d.LastSeen, d.CapabilityNames))];

    private MetricsView Metrics()
    {
        BusMetrics bus = _engine.Metrics;
        long rejected = Enum.GetValues<RejectReason>().Sum(bus.RejectedCount);
        return new MetricsView(bus.AcceptedCount, bus.PublishedCount, rejected, bus.Qos0DroppedCount, _monitoring.Metrics.Connections);
    }

    private static TraceView ToView(VoiceTrace trace)
    {
        double start = 0;
        var stages = new StageView[trace.Stages.Count];
        for (int i = 0; i < stages.Length; i++)
        {
            stages[i] = new StageView(trace.Stages[i].Key, start, trace.Stages[i].Value);
            start += trace.Stages[i].Value;
        }
        return new TraceView(trace.SessionId, trace.DeviceId, trace.Utterance, trace.Text, trace.Status, trace.At, trace.TotalMs, trace.TraceId, stages);
    }

    public void Dispose()
    {
        _monitoring.Changed -= OnHealth;
        _monitoring.VoiceTraced -= OnTrace;
        _spans.Updated -= OnSpans;
        _spans.Dispose();
        if (_monitoring.Alerts is { } alerts) alerts.Changed -= OnAlert;
        if (_registry is not null) _registry.Registry.Changed -= OnDevices;
        lock (_lock)
        {
            foreach (Channel<string> client in _clients) client.Writer.TryComplete();
        }
    }
}
