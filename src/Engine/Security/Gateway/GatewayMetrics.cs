using System.Diagnostics.Metrics;

namespace Alicia.Engine.Security.Gateway;

/// <summary>The gateway's counters (meter <c>Alicia.Gateway</c>), also kept as numbers for tests and health.</summary>
internal sealed class GatewayMetrics : IDisposable
{
    private readonly Meter _meter = new("Alicia.Gateway");
    private readonly Counter<long> _denied;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);

    public GatewayMetrics() =>
        _denied = _meter.CreateCounter<long>("alicia.gateway.denied", "{decision}", "Connections, subscriptions and publishes the gateway refused, by reason");

    public Meter Meter => _meter;

    public void Denied(string reason)
    {
        _counts.AddOrUpdate(reason, 1, (_, n) => n + 1);
        _denied.Add(1, new KeyValuePair<string, object?>("reason", reason));
    }

    public long Count(string reason) => _counts.GetValueOrDefault(reason);

    public void Dispose() => _meter.Dispose();
}
