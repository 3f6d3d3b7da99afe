namespace Alicia.Engine.Monitoring;

/// <summary>The monitoring service's settings (<c>Monitoring</c> section): how often it judges, and the thresholds it judges by.</summary>
public sealed class MonitoringOptions
{
    /// <summary>How often heartbeats are judged and the system's state republished when it changed.</summary>
    public TimeSpan EvaluationInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A sender missing this many heartbeat intervals is offline (the schema's rule: two).</summary>
    public int MissedHeartbeatsOffline { get; set; } = 2;

    public double CpuDegradedPercent { get; set; } = 85;
    public double CpuUnhealthyPercent { get; set; } = 98;
    public double MemoryDegradedPercent { get; set; } = 85;
    public double MemoryUnhealthyPercent { get; set; } = 95;
    public double ResponseDegradedMs { get; set; } = 500;
    public double ResponseUnhealthyMs { get; set; } = 2000;
    public double ErrorRateDegraded { get; set; } = 0.05;
    public double ErrorRateUnhealthy { get; set; } = 0.25;

    /// <summary>Latency budgets per kind of request (the design's targets by default).</summary>
    public LatencyBudgets Budgets { get; set; } = new();

    /// <summary>Alert rules and their history.</summary>
    public AlertOptions Alerts { get; set; } = new();
}

/// <summary>How long a kind of request may take end to end; over it, an event names the stage that used the time.</summary>
public sealed class LatencyBudgets
{
    public double VoiceMs { get; set; } = 500;
    public double DeviceControlMs { get; set; } = 100;
    public double AudioDeliveryMs { get; set; } = 200;
    public double HealthMs { get; set; } = 50;

    /// <summary>The budget named <paramref name="budget"/> (<c>voice</c>, <c>device_control</c>, <c>audio_delivery</c>, <c>health</c>); 0 when unknown.</summary>
    public double Of(string budget) => budget switch
    {
        "voice" => VoiceMs,
        "device_control" => DeviceControlMs,
        "audio_delivery" => AudioDeliveryMs,
        "health" => HealthMs,
        _ => 0,
    };
}

/// <summary>Alert rules' thresholds and the history kept of them.</summary>
public sealed class AlertOptions
{
    /// <summary>Alert history in SQLite (mode 0600); empty: <c>{DataDirectory}/alerts.db</c>.</summary>
    public string DatabasePath { get; set; } = "";

    /// <summary>How long cleared alerts are kept.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>A service's error rate over this fires <c>error_rate</c>.</summary>
    public double ErrorRate { get; set; } = 0.05;

    /// <summary>This many budget breaches of one kind within <see cref="BudgetWindow"/> fire <c>budget</c>.</summary>
    public int BudgetBreaches { get; set; } = 3;
    public TimeSpan BudgetWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A reported queue this full (fraction of its capacity) fires <c>queue</c>.</summary>
    public double QueueFull { get; set; } = 0.8;

    /// <summary>This many security refusals (signatures, ACL, floods) within <see cref="SecurityWindow"/> fire <c>security</c>.</summary>
    public int SecurityEvents { get; set; } = 10;
    public TimeSpan SecurityWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often the audit log's chain and signed checkpoints are verified (a failure fires <c>audit:chain</c>).</summary>
    public TimeSpan AuditVerifyInterval { get; set; } = TimeSpan.FromHours(1);
}
