namespace Alicia.Engine.Security.Gateway;

/// <summary>The security gateway's settings (configuration section <c>Gateway</c>).</summary>
public sealed class GatewayOptions
{
    /// <summary>Authenticate, authorize, verify and rate-limit every client of the embedded broker.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Anonymous clients on loopback may subscribe (read-only); nobody anonymous may publish.</summary>
    public bool AllowAnonymousReadOnly { get; set; } = true;

    /// <summary>Messages a device may publish per period unless its capabilities say otherwise (e.g. <c>600/minute</c>).</summary>
    public string DefaultRateLimit { get; set; } = "600/minute";

    /// <summary>Messages a client may send at once above its steady rate.</summary>
    public int Burst { get; set; } = 60;

    /// <summary>Unclean connects of one identity, or refused attempts from one address, within <see cref="FlapWindow"/> that count as flapping.</summary>
    public int FlapConnects { get; set; } = 10;

    public TimeSpan FlapWindow { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a flapping client is refused.</summary>
    public TimeSpan BanDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Refused publishes (ACL, signature, replay, format) of one client within <see cref="FlapWindow"/> after which it is disconnected and banned.</summary>
    public int DeniedPublishLimit { get; set; } = 100;

    /// <summary>The window over which repeated refusals of one client for one reason are aggregated into one audit row.</summary>
    public TimeSpan AuditWindow { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The most records the audit log holds; past it, one "suppressed" record is written and the rest dropped (an alarm is logged at 90 %).</summary>
    public long AuditMaxRecords { get; set; } = 1_000_000;

    /// <summary>Records after which the audit log's head is checkpointed (signed with the engine's key, kept in <c>audit.checkpoints</c> and published retained).</summary>
    public long AuditCheckpointRecords { get; set; } = 1000;

    /// <summary>How often the audit log's head is checkpointed when it moved (and always when the engine stops).</summary>
    public TimeSpan AuditCheckpointInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The largest payload a client may publish.</summary>
    public int MaxPayloadBytes { get; set; } = 256 * 1024;
}
