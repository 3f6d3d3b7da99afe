namespace Alicia.Engine.Registry;

/// <summary>How the device registry stores, validates and watches devices.</summary>
public sealed class RegistryOptions
{
    /// <summary>The SQLite database; empty: <c>{DataDirectory}/registry.db</c>.</summary>
    public string DatabasePath { get; set; } = "";

    /// <summary>Most capabilities one registration may declare.</summary>
    public int MaxCapabilities { get; set; } = 32;

    /// <summary>Most parameters one capability may declare.</summary>
    public int MaxParameters { get; set; } = 32;

    /// <summary>Most named endpoints one registration may declare.</summary>
    public int MaxEndpoints { get; set; } = 32;

    /// <summary>Largest registration payload accepted (bytes, before parsing).</summary>
    public int MaxRegistrationBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// Accept unsigned plain-JSON registrations from devices that cannot sign. They are unauthenticated:
    /// such a device can never take over an id a signed identity holds, but plain devices can replace each other.
    /// </summary>
    public bool AcceptPlainRegistrations { get; set; } = true;

    /// <summary>The heartbeat interval assumed for a device until its first heartbeat says otherwise.</summary>
    public TimeSpan DefaultHeartbeatInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A device is declared offline after this many heartbeat intervals of silence (must be below 2).</summary>
    public double OfflineAfterIntervals { get; set; } = 1.5;

    /// <summary>How often liveness is checked and last-seen times are flushed to disk.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Identities allowed to remove any device (besides its owner): the CLI and the engine itself.</summary>
    public List<string> Administrators { get; set; } = ["alicia-cli"];
}
