namespace Alicia.Contracts.Messages;

/// <summary>One service or device as the monitoring service sees it (the design's service health schema, judged).</summary>
[AliciaContract]
public sealed partial class ComponentHealth
{
    public string Name { get; set; } = "";

    /// <summary><c>engine</c>, <c>service</c> (an engine service or anything that heartbeats) or <c>device</c> (a registered device).</summary>
    public string Kind { get; set; } = "service";

    public HealthStatus Status { get; set; }
    public bool Online { get; set; }

    /// <summary>Why it is not healthy (the threshold or dependency at fault); empty when healthy.</summary>
    public string Reason { get; set; } = "";

    /// <summary>Percent of one machine; negative when not reported.</summary>
    public double CpuPercent { get; set; } = -1;

    /// <summary>Percent of the memory available to it; negative when not reported.</summary>
    public double MemoryPercent { get; set; } = -1;

    public double ResponseMs { get; set; } = -1;

    /// <summary>Failed over total operations in its last interval, 0..1; negative when not reported.</summary>
    public double ErrorRate { get; set; } = -1;

    /// <summary>How full its busiest queue is, 0..1; negative when not reported.</summary>
    public double QueueFill { get; set; } = -1;

    public Dictionary<string, HealthStatus> Dependencies { get; set; } = [];
    public DateTimeOffset LastHeartbeat { get; set; }

    /// <summary>The room of a device (empty for services).</summary>
    public string Location { get; set; } = "";
}

/// <summary>The whole system's health: published retained by the monitoring service whenever it changes.</summary>
[AliciaMessage("alicia/system/health/state", Kind = MessageKind.Event)]
public sealed partial class SystemHealth
{
    /// <summary>The worst of the components' statuses that count (engine and services; devices only degrade it).</summary>
    public HealthStatus Status { get; set; }
    public DateTimeOffset EvaluatedAt { get; set; }
    public List<ComponentHealth> Components { get; set; } = [];

    /// <summary>Monotonic per monitoring service: a change of state increments it.</summary>
    public long Version { get; set; }
}

/// <summary>Asks the monitoring service for the system's health now (one component when <see cref="Component"/> is set).</summary>
[AliciaMessage("alicia/system/health/request", Kind = MessageKind.Request)]
public sealed partial class HealthRequest
{
    public string Component { get; set; } = "";
}

[AliciaMessage("alicia/system/health/response", Kind = MessageKind.Response)]
public sealed partial class HealthReport
{
    /// <summary>200, or 404 when the component asked for is unknown.</summary>
    public int Status { get; set; } = 200;
    public SystemHealth Health { get; set; } = new();
}

public enum AlertState
{
    Firing,
    Cleared,
}

/// <summary>An alert raised or cleared by the monitoring service's rules.</summary>
[AliciaMessage("alicia/system/alerts", Kind = MessageKind.Event)]
public sealed partial class AlertNotice
{
    /// <summary>Rule and subject together (<c>offline:kitchen_light</c>): the same condition keeps the same id.</summary>
    public string Id { get; set; } = "";

    /// <summary><c>offline</c>, <c>error_rate</c>, <c>budget</c>, <c>queue</c>, <c>security</c>.</summary>
    public string Rule { get; set; } = "";
    public string Subject { get; set; } = "";

    /// <summary><c>warning</c> or <c>critical</c>.</summary>
    public string Severity { get; set; } = "warning";
    public AlertState State { get; set; }
    public string Message { get; set; } = "";
    public DateTimeOffset FiredAt { get; set; }

    /// <summary>When it cleared (default while firing).</summary>
    public DateTimeOffset ClearedAt { get; set; }
}

/// <summary>A request that went over its latency budget, naming the stage that used the time.</summary>
[AliciaMessage("alicia/system/monitoring/budget", Kind = MessageKind.Event)]
public sealed partial class BudgetExceeded
{
    /// <summary><c>voice</c>, <c>device_control</c>, <c>audio_delivery</c>, <c>health</c>.</summary>
    public string Budget { get; set; } = "";
    public double BudgetMs { get; set; }
    public double ElapsedMs { get; set; }

    /// <summary>The stage that took the most time.</summary>
    public string Stage { get; set; } = "";
    public double StageMs { get; set; }

    /// <summary>Every stage's time, in milliseconds.</summary>
    public Dictionary<string, double> Stages { get; set; } = [];

    /// <summary>The W3C trace id of the request, when it had one.</summary>
    public string TraceId { get; set; } = "";
}
