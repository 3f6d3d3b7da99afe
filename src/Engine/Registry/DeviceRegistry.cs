using Alicia.Contracts.Messages;
using Alicia.Engine.Security.Gateway;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alicia.Engine.Registry;

/// <summary>What changed in the registry (raised after the change is durable).</summary>
internal enum RegistryChangeKind
{
    Registered,
    Updated,
    Removed,
    StateChanged,
}

internal readonly record struct RegistryChange(RegistryChangeKind Kind, DeviceRecord Device, string Cause);

/// <summary>The result of a registration or removal.</summary>
internal readonly record struct RegistrationOutcome(string Outcome, ValidationError? Error, DeviceRecord? Device)
{
    public bool Accepted => Error is null;
}

/// <summary>
/// The device registry: registrations (validated, owned by the identity that made them, persisted before
/// they are acknowledged), a capability and location index for the router, and liveness (births and deaths
/// with a birth sequence, heartbeats, and a sweep that declares silent devices offline). Writes are
/// serialised under one lock; the router reads an immutable index snapshot without locking.
/// </summary>
internal sealed class DeviceRegistry : IDisposable
{
    private readonly Lock _lock = new();
    private readonly RegistryStore? _store;
    private readonly RegistryOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly Dictionary<string, DeviceRecord> _devices = new(StringComparer.Ordinal);
    private readonly HashSet<DeviceRecord> _dirty = [];
    private volatile RegistryIndex _index = RegistryIndex.Empty;

    public DeviceRegistry(RegistryStore? store, RegistryOptions? options = null, TimeProvider? clock = null, ILogger? logger = null, RegistryMetrics? metrics = null)
    {
        _store = store;
        _options = options ?? new RegistryOptions();
        _clock = clock ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        Metrics = metrics ?? new RegistryMetrics();
        Metrics.DeviceCountSource = () => _index.All.Length;
        if (_store is null) return;
        DateTimeOffset now = _clock.GetUtcNow();
        foreach (DeviceRecord record in _store.LoadAll())
        {
            // Liveness starts afresh: a device that was live gets one full window to show it still is.
            if (record.State != DeviceState.Offline) record.LastSeen = now;
            _devices[record.DeviceId] = record;
        }
        RebuildIndex();
    }

    public RegistryOptions Options => _options;
    public RegistryMetrics Metrics { get; }
    public RegistryStore? Store => _store;

    /// <summary>Raised after each durable change, under the registry's lock (so in order): handlers must be quick and must not call back in.</summary>
    public event Action<RegistryChange>? Changed;

    public int Count => _index.All.Length;

    public IReadOnlyList<DeviceRecord> All => _index.All;

    public DeviceRecord? Get(string deviceId) => _index.ById.GetValueOrDefault(deviceId);

    /// <summary>Every device declaring <paramref name="capability"/>, live or not (lock-free).</summary>
    public DeviceRecord[] WithCapability(string capability) => _index.ByCapability.GetValueOrDefault(capability) ?? [];

    /// <summary>Every device in <paramref name="location"/> (lock-free).</summary>
    public DeviceRecord[] InLocation(string location) => _index.ByLocation.GetValueOrDefault(location) ?? [];

    /// <summary>Devices with <paramref name="capability"/> in <paramref name="location"/> (lock-free, from the composite index).</summary>
    public DeviceRecord[] WithCapabilityIn(string capability, string location) =>
        _index.ByCapabilityAndLocation.GetValueOrDefault(new(capability, location)) ?? [];

    /// <summary>Validates and stores a registration by <paramref name="owner"/> (a verified identity, or <c>plain:{id}</c>).</summary>
    public RegistrationOutcome Register(DeviceRegistration registration, string owner)
    {
        if (RegistrationValidator.Validate(registration, _options) is { } error) return Refuse(registration.DeviceId, error);
        lock (_lock)
        {
            _devices.TryGetValue(registration.DeviceId, out DeviceRecord? existing);
            if (existing is not null && !string.Equals(existing.Owner, owner, StringComparison.Ordinal))
            {
                bool plainOverPlain = existing.IsPlain && owner.StartsWith(DeviceRecord.PlainOwnerPrefix, StringComparison.Ordinal);
                if (!plainOverPlain)
                    return Refuse(registration.DeviceId, new ValidationError("device_id",
                        $"'{registration.DeviceId}' is registered by '{existing.Owner}'; '{owner}' may not register under it"));
            }
            DateTimeOffset now = _clock.GetUtcNow();
            bool unchanged = existing is not null && existing.Owner == owner && RegistryStore.ToJson(existing.Registration) == RegistryStore.ToJson(registration);
            DeviceRecord record = unchanged ? existing! : new DeviceRecord(registration, owner, existing?.RegisteredAt ?? now);
            if (existing is not null && !unchanged) record.CopyLivenessFrom(existing);
            if (existing is null) record.HeartbeatInterval = _options.DefaultHeartbeatInterval;
            bool cameBack = record.State == DeviceState.Offline;
            if (cameBack) record.State = DeviceState.Online; // registering is a sign of life
            record.LastSeen = now;
            record.Suspect = false;
            _store?.Upsert(record); // durable before anyone is told
            _dirty.Remove(record);
            _devices[record.DeviceId] = record;
            if (!unchanged) _index = _index.With(existing, record); // only this device's entries change
            string outcome = existing is null ? "registered" : unchanged ? "unchanged" : "updated";
            Metrics.Registration(outcome);
            _logger.LogInformation("Device '{Device}' {Outcome} by '{Owner}' ({Type} in '{Location}': {Capabilities})",
                Untrusted.Escape(record.DeviceId), outcome, Untrusted.Escape(owner), Untrusted.Escape(record.DeviceType), Untrusted.Escape(record.Location), Untrusted.Escape(string.Join(", ", record.CapabilityNames)));
            if (existing is null) Changed?.Invoke(new RegistryChange(RegistryChangeKind.Registered, record, outcome));
            else if (!unchanged) Changed?.Invoke(new RegistryChange(RegistryChangeKind.Updated, record, outcome));
            else if (cameBack) Changed?.Invoke(new RegistryChange(RegistryChangeKind.StateChanged, record, "registration"));
            return new RegistrationOutcome(outcome, null, record);
        }
    }

    private RegistrationOutcome Refuse(string deviceId, ValidationError error)
    {
        Metrics.Registration("refused", error.Field);
        _logger.LogWarning("Registration of '{Device}' refused: {Error}", Untrusted.Escape(deviceId), Untrusted.Escape(error.ToString()));
        return new RegistrationOutcome("refused", error, null);
    }

    /// <summary>Removes a device; only its owner or an administrator may (<paramref name="requester"/> null: the engine itself).</summary>
    public RegistrationOutcome Unregister(string deviceId, string? requester, string reason)
    {
        DeviceRecord? removed;
        lock (_lock)
        {
            if (!_devices.TryGetValue(deviceId, out removed))
                return new RegistrationOutcome("refused", new ValidationError("device_id", $"'{deviceId}' is not registered"), null);
            bool allowed = requester is null || string.Equals(requester, removed.Owner, StringComparison.Ordinal)
                || _options.Administrators.Contains(requester, StringComparer.Ordinal);
            if (!allowed)
                return new RegistrationOutcome("refused", new ValidationError("device_id", $"'{deviceId}' is registered by '{removed.Owner}'; '{requester}' may not remove it"), null);
            _store?.Delete(deviceId);
            _devices.Remove(deviceId);
            _dirty.Remove(removed);
            removed.State = DeviceState.Offline;
            _index = _index.With(removed, null);
            _logger.LogInformation("Device '{Device}' unregistered by '{Requester}': {Reason}", Untrusted.Escape(deviceId), Untrusted.Escape(requester ?? "engine"), Untrusted.Escape(reason));
            Changed?.Invoke(new RegistryChange(RegistryChangeKind.Removed, removed, reason));
        }
        return new RegistrationOutcome("unregistered", null, removed);
    }

    /// <summary>A birth: a verified status from the owner with a birth sequence. Older sequences are stale and ignored.</summary>
    public bool Birth(string deviceId, string source, DeviceState state, long birthSequence)
    {
        DeviceRecord? record;
        lock (_lock)
        {
            if (!_devices.TryGetValue(deviceId, out record) || !IsOwner(record, source)) return false;
            if (birthSequence < record.BirthSequence)
            {
                _logger.LogInformation("Stale birth of '{Device}' (sequence {Seq} < current {Current}) ignored", Untrusted.Escape(deviceId), birthSequence, record.BirthSequence);
                return false;
            }
            if (state == DeviceState.Offline)
            {
                // A signed, graceful death: honoured only for the current connection.
                if (birthSequence != record.BirthSequence) return false;
                return SetState(record, DeviceState.Offline, "death");
            }
            record.BirthSequence = birthSequence;
            record.Suspect = false;
            record.LastSeen = _clock.GetUtcNow();
            if (!SetState(record, state, "birth"))
            {
                _store?.UpdateLiveness([record]); // the birth sequence is durable at once: it decides which death notices count
                _dirty.Remove(record);
            }
        }
        return true;
    }

    /// <summary>
    /// A death notice (the MQTT will, which cannot be signed: it is composed at connect time and would be
    /// stale when the broker sends it). It can only ever take a device offline, and only when its birth
    /// sequence is the current one, so a stale will from an earlier connection cannot.
    /// </summary>
    public bool Death(string deviceId, long birthSequence, string cause = "will")
    {
        lock (_lock)
        {
            if (!_devices.TryGetValue(deviceId, out DeviceRecord? record)) return false;
            if (birthSequence != record.BirthSequence)
            {
                _logger.LogInformation("Stale death notice for '{Device}' (sequence {Seq}, current {Current}) ignored", Untrusted.Escape(deviceId), birthSequence, record.BirthSequence);
                return false;
            }
            return SetState(record, DeviceState.Offline, cause);
        }
    }

    /// <summary>A verified heartbeat from the device's owner (service health schema).</summary>
    public bool Heartbeat(string source, ServiceHealth health)
    {
        lock (_lock)
        {
            if (!_devices.TryGetValue(health.Service, out DeviceRecord? record) || !IsOwner(record, source)) return false;
            record.LastSeen = _clock.GetUtcNow();
            if (health.IntervalMs > 0) record.HeartbeatInterval = TimeSpan.FromMilliseconds(health.IntervalMs);
            record.Suspect = false;
            record.ReportedLoad = health.Metrics.TryGetValue("load", out double load) ? load
                : health.Metrics.TryGetValue("queue_depth", out load) ? load
                : health.Metrics.TryGetValue("in_flight", out load) ? load : 0;
            DeviceState state = health.Status == HealthStatus.Healthy ? DeviceState.Online : DeviceState.Degraded;
            if (!SetState(record, state, "heartbeat")) _dirty.Add(record);
            return true;
        }
    }

    /// <summary>
    /// True when a verified message from <paramref name="source"/> speaks for <paramref name="record"/>: its owner, or,
    /// for a plain-JSON device (owner <c>plain:{id}</c>), the device's own identity <c>{id}</c> (a gateway-attested
    /// envelope from its own authenticated connection, or one it signed itself).
    /// </summary>
    private static bool IsOwner(DeviceRecord record, string source) =>
        string.Equals(record.Owner, source, StringComparison.Ordinal)
        || (record.IsPlain && string.Equals(record.DeviceId, source, StringComparison.Ordinal));

    /// <summary>Marks a service instance as suspect after a request to it timed out: skipped until its next sign of life.</summary>
    public void MarkSuspect(string deviceId)
    {
        lock (_lock)
        {
            if (_devices.TryGetValue(deviceId, out DeviceRecord? record)) record.Suspect = true;
        }
    }

    /// <summary>Declares silent devices offline and flushes batched last-seen times. Returns how many went offline.</summary>
    public int Sweep()
    {
        DateTimeOffset now = _clock.GetUtcNow();
        int offline = 0;
        lock (_lock)
        {
            foreach (DeviceRecord record in _devices.Values)
            {
                if (record.State == DeviceState.Offline) continue;
                TimeSpan interval = record.HeartbeatInterval > TimeSpan.Zero ? record.HeartbeatInterval : _options.DefaultHeartbeatInterval;
                if (now - record.LastSeen > interval * _options.OfflineAfterIntervals)
                {
                    SetState(record, DeviceState.Offline, "missed_heartbeats");
                    offline++;
                }
            }
            if (_dirty.Count > 0 && _store is not null)
            {
                _store.UpdateLiveness(_dirty);
                _dirty.Clear();
            }
        }
        return offline;
    }

    /// <summary>Called under the lock. Persists and announces a state change; false when nothing changed.</summary>
    private bool SetState(DeviceRecord record, DeviceState state, string cause)
    {
        if (record.State == state) return false;
        DeviceState before = record.State;
        record.State = state;
        _store?.UpdateLiveness([record]);
        _dirty.Remove(record);
        string name = state.ToString().ToLowerInvariant();
        Metrics.Transition(name, cause);
        _logger.LogInformation("Device '{Device}' {Before} -> {After} ({Cause}, birth sequence {Seq})", Untrusted.Escape(record.DeviceId),
            before.ToString().ToLowerInvariant(), name, cause, record.BirthSequence);
        // Raised under the lock so observers see transitions in order; handlers must not call back in synchronously.
        Changed?.Invoke(new RegistryChange(RegistryChangeKind.StateChanged, record, cause));
        return true;
    }

    private void RebuildIndex() => _index = RegistryIndex.Build(_devices.Values);

    /// <summary>The current lookup snapshot (tests compare it with a full rebuild).</summary>
    internal RegistryIndex Index => _index;

    public void Dispose()
    {
        lock (_lock)
        {
            if (_dirty.Count > 0 && _store is not null) _store.UpdateLiveness(_dirty);
            _dirty.Clear();
        }
        Metrics.Dispose();
    }
}
