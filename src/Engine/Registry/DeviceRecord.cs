using Alicia.Engine.Security.Gateway;
using Alicia.Contracts.Messages;

namespace Alicia.Engine.Registry;

/// <summary>
/// One registered device or service as the registry holds it: the registration (immutable once stored;
/// a re-registration replaces the record) plus its liveness, which changes under the registry's lock and
/// is read lock-free by the router.
/// </summary>
internal sealed class DeviceRecord
{
    private int _state;
    private long _lastSeenTicks;
    private int _inFlight;

    internal DeviceRecord(DeviceRegistration registration, string owner, DateTimeOffset registeredAt)
    {
        Registration = registration;
        Owner = owner;
        RegisteredAt = registeredAt;
        CapabilityNames = [.. registration.Capabilities.Capabilities.Select(c => c.Name)];
        RateLimit = Security.Gateway.RateLimit.TryParse(registration.Capabilities.Constraints?.RateLimit, out RateLimit limit) ? limit : null;
        MaxConnections = registration.Capabilities.Constraints?.MaxConnections ?? 0;
    }

    public DeviceRegistration Registration { get; }
    public string DeviceId => Registration.DeviceId;
    public string DeviceType => Registration.DeviceType;
    public string Location => Registration.Metadata.Location;

    /// <summary>The identity that registered the device; <c>plain:{id}</c> for unsigned JSON registrations.</summary>
    public string Owner { get; }

    public bool IsPlain => Owner.StartsWith(PlainOwnerPrefix, StringComparison.Ordinal);

    public const string PlainOwnerPrefix = "plain:";

    public DateTimeOffset RegisteredAt { get; }
    public string[] CapabilityNames { get; }
    public RateLimit? RateLimit { get; }

    private TokenBucket? _bucket;

    /// <summary>The token bucket enforcing <see cref="RateLimit"/> (a burst of one period's worth).</summary>
    internal TokenBucket? Bucket(TimeProvider clock) =>
        RateLimit is { } limit ? _bucket ??= new TokenBucket(limit, (int)Math.Max(1, Math.Ceiling(limit.Count)), clock) : null;
    public int MaxConnections { get; }

    public DeviceState State
    {
        get => (DeviceState)Volatile.Read(ref _state);
        internal set => Volatile.Write(ref _state, (int)value);
    }

    public bool IsLive => State != DeviceState.Offline && !Suspect;

    /// <summary>Set when a request to this instance timed out; cleared by its next heartbeat or birth.</summary>
    public bool Suspect { get; internal set; }

    public long BirthSequence { get; internal set; }

    public DateTimeOffset LastSeen
    {
        get => new(Volatile.Read(ref _lastSeenTicks), TimeSpan.Zero);
        internal set => Volatile.Write(ref _lastSeenTicks, value.UtcTicks);
    }

    public TimeSpan HeartbeatInterval { get; internal set; }

    /// <summary>Load from the last heartbeat's metrics (<c>load</c>, <c>queue_depth</c> or <c>in_flight</c>), for least-loaded choice.</summary>
    public double ReportedLoad { get; internal set; }

    public int InFlight => Volatile.Read(ref _inFlight);

    internal bool TryEnter()
    {
        if (MaxConnections <= 0) { Interlocked.Increment(ref _inFlight); return true; }
        while (true)
        {
            int current = Volatile.Read(ref _inFlight);
            if (current >= MaxConnections) return false;
            if (Interlocked.CompareExchange(ref _inFlight, current + 1, current) == current) return true;
        }
    }

    internal void Exit() => Interlocked.Decrement(ref _inFlight);

    internal void CopyLivenessFrom(DeviceRecord other)
    {
        State = other.State;
        BirthSequence = other.BirthSequence;
        LastSeen = other.LastSeen;
        HeartbeatInterval = other.HeartbeatInterval;
        ReportedLoad = other.ReportedLoad;
    }

    public DeviceSummary ToSummary(bool full) => new()
    {
        DeviceId = DeviceId,
        DeviceType = DeviceType,
        Location = Location,
        Owner = Owner,
        State = State,
        BirthSequence = BirthSequence,
        RegisteredAt = RegisteredAt,
        LastSeen = LastSeen,
        HeartbeatIntervalMs = (int)HeartbeatInterval.TotalMilliseconds,
        Capabilities = [.. CapabilityNames],
        Registration = full ? Registration : new DeviceRegistration(),
    };
}
