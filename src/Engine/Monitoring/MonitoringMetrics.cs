using System.Diagnostics.Metrics;
using Alicia.Contracts.Messages;

namespace Alicia.Engine.Monitoring;

/// <summary>
/// The monitoring service's instruments (meter <c>Alicia.Monitoring</c>): broker connections, voice stage latencies,
/// budget breaches, components by health and alerts firing. Observable gauges cost nothing until someone collects.
/// </summary>
internal sealed class MonitoringMetrics : IDisposable
{
    public const string MeterName = "Alicia.Monitoring";

    private readonly Meter _meter;
    private readonly Histogram<double> _voiceStages;
    private readonly Counter<long> _budgetBreaches;
    private long _connectionCount;

    public MonitoringMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        // Observed, so it is exported (as 0) before the first network client connects.
        _meter.CreateObservableUpDownCounter("alicia.broker.connections", () => Connections, "{connection}", "Clients connected to the embedded broker");
        _voiceStages = _meter.CreateHistogram<double>("alicia.voice.stage.duration", "ms", "Time spent in each voice stage (VAD endpointing, speech-to-text queue and decoding, routing, LLM, synthesis)");
        _budgetBreaches = _meter.CreateCounter<long>("alicia.latency.budget.exceeded", "{request}", "Requests over their latency budget, by budget and the stage that used the time");
        _meter.CreateObservableGauge("alicia.health.components", ObserveComponents, "{component}", "Components by kind and health status");
        _meter.CreateObservableGauge("alicia.alerts.firing", () => FiringAlerts(), "{alert}", "Alerts firing now");
    }

    public Meter Meter => _meter;

    /// <summary>The latest judged state (set by the monitoring service after each evaluation).</summary>
    public SystemHealth? LatestHealth { get; set; }

    public Func<int> FiringAlerts { get; set; } = () => 0;

    public long Connections => Interlocked.Read(ref _connectionCount);

    public void Connected()
    {
        Interlocked.Increment(ref _connectionCount);
    }

    public void Disconnected()
    {
        Interlocked.Decrement(ref _connectionCount);
    }

    public void VoiceStage(string stage, double milliseconds) =>
        _voiceStages.Record(milliseconds, new KeyValuePair<string, object?>("stage", stage));

    public void BudgetExceeded(string budget, string stage) =>
        _budgetBreaches.Add(1, new KeyValuePair<string, object?>("budget", budget), new KeyValuePair<string, object?>("stage", stage));

    private IEnumerable<Measurement<int>> ObserveComponents()
    {
        if (LatestHealth is not { } health) yield break;
        foreach (IGrouping<(string Kind, HealthStatus Status), ComponentHealth> group in health.Components.GroupBy(c => (c.Kind, c.Status)))
        {
            yield return new Measurement<int>(group.Count(),
                new KeyValuePair<string, object?>("kind", group.Key.Kind),
                new KeyValuePair<string, object?>("status", group.Key.Status.ToString().ToLowerInvariant()));
        }
    }

    public void Dispose() => _meter.Dispose();
}
