using System.Diagnostics.Metrics;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security;
using Alicia.Engine.Security.Gateway;

namespace Alicia.Engine.Monitoring;

/// <summary>
/// Feeds the security alert rule: the refusals the engine's verifiers counted (its bus and the gateway's ingress share
/// <see cref="AliciaEngine.Metrics"/>; read as deltas at each evaluation) and the gateway's denials (connections, ACLs,
/// floods), heard from that gateway's own meter instance only, so another engine in the process does not count.
/// </summary>
internal sealed class SecurityEventSource : IDisposable
{
    private static readonly RejectReason[] Counted = [RejectReason.Malformed, RejectReason.Unsigned, RejectReason.BadSignature, RejectReason.UnknownSource, RejectReason.Replayed];

    private readonly BusMetrics _metrics;
    private readonly AlertManager _alerts;
    private readonly long[] _seen = new long[Counted.Length];
    private readonly MeterListener? _gateway;

    public SecurityEventSource(AliciaEngine engine, AlertManager alerts)
    {
        _metrics = engine.Metrics;
        _alerts = alerts;
        for (int i = 0; i < Counted.Length; i++) _seen[i] = _metrics.RejectedCount(Counted[i]);
        if (engine.Services.OfType<SecurityGateway>().FirstOrDefault() is { } gateway)
        {
            Meter meter = gateway.Metrics.Meter;
            _gateway = new MeterListener
            {
                InstrumentPublished = (instrument, listener) =>
                {
                    if (ReferenceEquals(instrument.Meter, meter) && instrument.Name == "alicia.gateway.denied") listener.EnableMeasurementEvents(instrument);
                },
            };
            _gateway.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                string reason = "denied";
                foreach (KeyValuePair<string, object?> tag in tags)
                    if (tag.Key == "reason" && tag.Value is string r) reason = r;
                _alerts.SecurityEvent(reason, value);
            });
            _gateway.Start();
        }
    }

    /// <summary>Passes on the refusals counted since the last call.</summary>
    public void Poll()
    {
        for (int i = 0; i < Counted.Length; i++)
        {
            long now = _metrics.RejectedCount(Counted[i]);
            long delta = now - _seen[i];
            _seen[i] = now;
            if (delta > 0) _alerts.SecurityEvent(Counted[i].ToName(), delta);
        }
    }

    public void Dispose() => _gateway?.Dispose();
}
