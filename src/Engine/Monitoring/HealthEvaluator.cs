using Alicia.Contracts.Messages;

namespace Alicia.Engine.Monitoring;

/// <summary>
/// Judges components from their heartbeats: offline after missed intervals, unhealthy or degraded by the thresholds
/// and by their own report, and degraded when something they depend on is down. Pure: the tests feed it directly.
/// </summary>
internal sealed class HealthEvaluator(MonitoringOptions options)
{
    public SystemHealth Evaluate(IEnumerable<ComponentObservation> observations, DateTimeOffset now)
    {
        var components = new List<ComponentHealth>();
        foreach (ComponentObservation o in observations) components.Add(Judge(o, now));
        var byName = new Dictionary<string, ComponentHealth>(StringComparer.Ordinal);
        foreach (ComponentHealth c in components) byName[c.Name] = c;
        // A second pass on first-pass statuses: a service whose dependency is down is degraded (one level, no cycles to chase).
        var downNow = components.Where(c => c.Status == HealthStatus.Unhealthy).Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        foreach (ComponentHealth c in components)
        {
            if (c.Status != HealthStatus.Healthy) continue;
            foreach ((string dependency, HealthStatus reported) in c.Dependencies)
            {
                bool down = downNow.Contains(dependency) || (!byName.ContainsKey(dependency) && reported == HealthStatus.Unhealthy);
                if (!down) continue;
                c.Status = HealthStatus.Degraded;
                c.Reason = $"dependency '{dependency}' is down";
                break;
            }
        }
        components.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return new SystemHealth { Status = Overall(components), EvaluatedAt = now, Components = components };
    }

    /// <summary>The worst status of the engine and its services; devices going wrong degrade the system but never make it unhealthy.</summary>
    private static HealthStatus Overall(List<ComponentHealth> components)
    {
        HealthStatus worst = HealthStatus.Healthy;
        foreach (ComponentHealth c in components)
        {
            HealthStatus counted = c.Kind == "device" && c.Status == HealthStatus.Unhealthy ? HealthStatus.Degraded : c.Status;
            if (counted > worst) worst = counted;
        }
        return worst;
    }

    private ComponentHealth Judge(ComponentObservation o, DateTimeOffset now)
    {
        ServiceHealth h = o.Health;
        var c = new ComponentHealth
        {
            Name = o.Name,
            Kind = o.Kind,
            Location = o.Location,
            LastHeartbeat = o.ReceivedAt,
            CpuPercent = Metric(h, "cpu_percent", "cpu"),
            MemoryPercent = Metric(h, "memory_percent", "memory"),
            ResponseMs = Metric(h, "response_ms", "response_time_ms", "latency_ms"),
            ErrorRate = Metric(h, "error_rate"),
            QueueFill = QueueFill(h),
            Dependencies = new Dictionary<string, HealthStatus>(h.Dependencies, StringComparer.Ordinal),
            Online = true,
        };
        TimeSpan interval = TimeSpan.FromMilliseconds(h.IntervalMs > 0 ? h.IntervalMs : 5000);
        TimeSpan silent = now - o.ReceivedAt;
        // A device's liveness is the registry's call (births, wills, its sweep); a service's is judged here from its heartbeats.
        if (o.KnownOffline == true || (o.KnownOffline is null && silent > interval * options.MissedHeartbeatsOffline))
        {
            c.Online = false;
            c.Status = HealthStatus.Unhealthy;
            c.Reason = o.KnownOffline == true ? "offline" : $"offline: no heartbeat for {silent.TotalSeconds:0.#} s";
            return c;
        }
        (c.Status, c.Reason) = Worst(
            (h.Status, h.Status == HealthStatus.Healthy ? "" : $"reports {h.Status.ToString().ToLowerInvariant()}"),
            Threshold("cpu", c.CpuPercent, options.CpuDegradedPercent, options.CpuUnhealthyPercent, "%"),
            Threshold("memory", c.MemoryPercent, options.MemoryDegradedPercent, options.MemoryUnhealthyPercent, "%"),
            Threshold("response time", c.ResponseMs, options.ResponseDegradedMs, options.ResponseUnhealthyMs, " ms"),
            Threshold("error rate", c.ErrorRate, options.ErrorRateDegraded, options.ErrorRateUnhealthy, ""));
        return c;
    }

    private static (HealthStatus, string) Threshold(string what, double value, double degraded, double unhealthy, string unit) =>
        value < 0 ? (HealthStatus.Healthy, "")
        : value >= unhealthy ? (HealthStatus.Unhealthy, $"{what} {value:0.###}{unit} >= {unhealthy:0.###}{unit}")
        : value >= degraded ? (HealthStatus.Degraded, $"{what} {value:0.###}{unit} >= {degraded:0.###}{unit}")
        : (HealthStatus.Healthy, "");

    private static (HealthStatus, string) Worst(params ReadOnlySpan<(HealthStatus Status, string Reason)> verdicts)
    {
        (HealthStatus Status, string Reason) worst = (HealthStatus.Healthy, "");
        foreach ((HealthStatus Status, string Reason) v in verdicts)
            if (v.Status > worst.Status) worst = v;
        return worst;
    }

    /// <summary><c>queue_fill</c> as reported, or <c>queue_depth</c> over <c>queue_capacity</c>.</summary>
    private static double QueueFill(ServiceHealth h) =>
        Metric(h, "queue_fill") is >= 0 and var fill ? fill
        : Metric(h, "queue_depth") is >= 0 and var depth && Metric(h, "queue_capacity") is > 0 and var capacity ? depth / capacity
        : -1;

    private static double Metric(ServiceHealth h, params ReadOnlySpan<string> names)
    {
        foreach (string name in names)
            if (h.Metrics.TryGetValue(name, out double value)) return value;
        return -1;
    }
}
