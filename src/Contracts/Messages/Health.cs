namespace Alicia.Contracts.Messages;

public enum HealthStatus
{
    Healthy,
    Degraded,
    Unhealthy,
}

/// <summary>The service health schema, published as a heartbeat by every service and device.</summary>
[AliciaMessage("alicia/system/health/heartbeat", Kind = MessageKind.Event)]
public sealed partial class ServiceHealth
{
    /// <summary>The service or device reporting.</summary>
    public string Service { get; set; } = "";

    public HealthStatus Status { get; set; }

    /// <summary>Numeric health metrics (queue depth, cpu, latency_ms ...).</summary>
    public Dictionary<string, double> Metrics { get; set; } = [];

    /// <summary>The health of what this service depends on, by name.</summary>
    public Dictionary<string, HealthStatus> Dependencies { get; set; } = [];

    public DateTimeOffset LastHeartbeat { get; set; }

    /// <summary>How often heartbeats come; a receiver declares the sender offline after missing two.</summary>
    public int IntervalMs { get; set; } = 5000;

    /// <summary>Monotonic per sender, so gaps are visible.</summary>
    public long Sequence { get; set; }
}
