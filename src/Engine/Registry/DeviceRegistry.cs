using Alicia.Contracts.Messages;
using Alicia.Engine.Security.Gateway;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alicia.Engine.Registry;

/// <summary>What changed in the registry (raised after the change is durable, in the order of the changes).</summary>
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
/// with a birth sequence, heartbeats, and a sweep that declares silent devices offline). Changes are
/// serialised under one lock, in memory only; the disk writes are queued there, in that order, to the
/// single <see cref="RegistryWriter"/>, which commits them outside the lock (a slow fsync no longer holds up
/// heartbeats, births or other registrations). Each mutator returns once its own write is durable
/// (<see cref="RegisterAsync"/> and <see cref="UnregisterAsync"/> without blocking a thread). The router reads
/// an immutable index snapshot without locking.
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
    private readonly RegistryWriter? _writer;
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
        _writer = new RegistryWriter(_store, Announce, _logger);
    }

    public RegistryOptions Options => _options;
    public RegistryMetrics Metrics { get; }
    public RegistryStore? Store => _store;

    /// <summary>
    /// Raised after each change is durable, in the order of the changes: with a database, on the registry's writer
    /// thread once the change's transaction has committed (outside the registry's lock); without one, under the lock.
    /// Handlers must be quick and must not call the registry's mutators synchronously (they would wait for the
    /// writer they run on).
    /// </summary>
    public event Action<RegistryChange>? Changed;

    /// <summary>Disk transactions committed so far (one may hold several changes: group commit).</summary>
    internal long WriteTransactions => _writer?.Transactions ?? 0;

    private void Announce(RegistryChange change) => Changed?.Invoke(change);

    /// <summary>
    /// Called under the lock: queues the disk write (the queue order is the order of the changes) and, once it is
    /// durable, the announcement. Without a database the change is announced at once.
    /// </summary>
    private Task Persist(StoreWrite write, RegistryChange? change)
    {
        if (_writer is not null) return _writer.Enqueue(write, change);
        if (change is { } c) Announce(c);
        return Task.CompletedTask;
    }

    /// <summary>Blocks until a queued write is durable (outside the lock; the writer is a dedicated thread).</summary>
    private static void WaitDurable(Task? durable) => durable?.GetAwaiter().GetResult();

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

    /// <summary>Validates and stores a registration by <paramref name="owner"/> (a verified identity, or <c>plain:{id}</c>); returns once it is durable.</summary>
    public RegistrationOutcome Register(DeviceRegistration registration, string owner)
    {
        RegistrationOutcome outcome = Register(registration, owner, out Task durable);
        WaitDurable(durable);
        return outcome;
    }

    /// <summary><see cref="Register(DeviceRegistration, string)"/> without blocking: completes once the registration is durable.</summary>
    public async ValueTask<RegistrationOutcome> RegisterAsync(DeviceRegistration registration, string owner)
    {
        RegistrationOutcome outcome = Register(registration, owner, out Task durable);
        await durable.ConfigureAwait(false);
        return outcome;
    }

    private RegistrationOutcome Register(DeviceRegistration registration, string owner, out Task durable)
    {
        durable = Task.CompletedTask;
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
            _dirty.Remove(record);
            _devices[record.DeviceId] = record;
            if (!unchanged) _index = _index.With(existing, record); // only this device's entries change
            string outcome = existing is null ? "registered" : unchanged ? "unchanged" : "updated";
            Metrics.Registration(outcome);
            _logger.LogInformation("Device '{Device}' {Outcome} by '{Owner}' ({Type} in '{Location}': {Capabilities})",
                Untrusted.Escape(record.DeviceId), outcome, Untrusted.Escape(owner), Untrusted.Escape(record.DeviceType), Untrusted.Escape(record.Location), Untrusted.Escape(string.Join(", ", record.CapabilityNames)));
            RegistryChange? change = existing is null ? new RegistryChange(RegistryChangeKind.Registered, record, outcome)
                : !unchanged ? new RegistryChange(RegistryChangeKind.Updated, record, outcome)
                : cameBack ? new RegistryChange(RegistryChangeKind.StateChanged, record, "registration")
                : null;
            durable = Persist(UpsertDevice.Of(record), change); // durable before anyone is told
            return new RegistrationOutcome(outcome, null, record);
        }
    }

    private RegistrationOutcome Refuse(string deviceId, ValidationError error)
    {
        Metrics.Registration("refused", error.Field);
        _logger.LogWarning("Registration of '{Device}' refused: {Error}", Untrusted.Escape(deviceId), Untrusted.Escape(error.ToString()));
        return new RegistrationOutcome("refused", error, null);
    }

    /// <summary>Removes a device; only its owner or an administrator may (<paramref name="requester"/> null: the engine itself). Returns once the removal is durable.</summary>
    public RegistrationOutcome Unregister(string deviceId, string? requester, string reason)
    {
        RegistrationOutcome outcome = Unregister(deviceId, requester, reason, out Task durable);
        WaitDurable(durable);
        return outcome;
    }

    /// <summary><see cref="Unregister(string, string?, string)"/> without blocking: completes once the removal is durable.</summary>
    public async ValueTask<RegistrationOutcome> UnregisterAsync(string deviceId, string? requester, string reason)
    {
        RegistrationOutcome outcome = Unregister(deviceId, requester, reason, out Task durable);
        await durable.ConfigureAwait(false);
        return outcome;
    }

    private RegistrationOutcome Unregister(string deviceId, string? requester, string reason, out Task durable)
    {
        durable = Task.CompletedTask;
        DeviceRecord? removed;
        lock (_lock)
        {
            if (!_devices.TryGetValue(deviceId, out removed))
                return new RegistrationOutcome("refused", new ValidationError("device_id", $"'{deviceId}' is not registered"), null);
            bool allowed = requester is null || string.Equals(requester, removed.Owner, StringComparison.Ordinal)
                || _options.Administrators.Contains(requester, StringComparer.Ordinal);
            if (!allowed)
                return new RegistrationOutcome("refused", new ValidationError("device_id", $"'{deviceId}' is registered by '{removed.Owner}'; '{requester}' may not remove it"), null);
            _devices.Remove(deviceId);
            _dirty.Remove(removed);
            removed.State = DeviceState.Offline;
            _index = _index.With(removed, null);
            _logger.LogInformation("Device '{Device}' unregistered by '{Requester}': {Reason}", Untrusted.Escape(deviceId), Untrusted.Escape(requester ?? "engine"), Untrusted.Escape(reason));
            durable = Persist(new DeleteDevice(deviceId), new RegistryChange(RegistryChangeKind.Removed, removed, reason));
        }
        return new RegistrationOutcome("unregistered", null, removed);
    }

    /// <summary>A birth: a verified status from the owner with a birth sequence. Older sequences are stale and ignored.</summary>
    public bool Birth(string deviceId, string source, DeviceState state, long birthSequence)
    {
        DeviceRecord? record;
        Task? durable;
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
                durable = SetState(record, DeviceState.Offline, "death");
                if (durable is null) return false;
            }
            else
            {
                record.BirthSequence = birthSequence;
                record.Suspect = false;
                record.LastSeen = _clock.GetUtcNow();
                durable = SetState(record, state, "birth");
                if (durable is null)
                {
                    // The birth sequence is durable at once: it decides which death notices count.
                    durable = Persist(new UpdateLiveness([LivenessRow.Of(record)]), null);
                    _dirty.Remove(record);
                }
            }
        }
        WaitDurable(durable);
        return true;
    }

    /// <summary>
    /// A death notice (the MQTT will, which cannot be signed: it is composed at connect time and would be
    /// stale when the broker sends it). It can only ever take a device offline, and only when its birth
    /// sequence is the current one, so a stale will from an earlier connection cannot.
    /// </summary>
    public bool Death(string deviceId, long birthSequence, string cause = "will")
    {
        Task? durable;
        lock (_lock)
        {
            if (!_devices.TryGetValue(deviceId, out DeviceRecord? record)) return false;
            if (birthSequence != record.BirthSequence)
            {
                _logger.LogInformation("Stale death notice for '{Device}' (sequence {Seq}, current {Current}) ignored", Untrusted.Escape(deviceId), birthSequence, record.BirthSequence);
                return false;
            }
            durable = SetState(record, DeviceState.Offline, cause);
        }
        WaitDurable(durable);
        return durable is not null;
    }

    /// <summary>A verified heartbeat from the device's owner (service health schema).</summary>
    public bool Heartbeat(string source, ServiceHealth health)
    {
        Task? durable;
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
            durable = SetState(record, state, "heartbeat");
            if (durable is null) _dirty.Add(record); // last-seen times are batched: the sweep writes them
        }
        WaitDurable(durable);
        return true;
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
        Task? durable = null;
        lock (_lock)
        {
            foreach (DeviceRecord record in _devices.Values)
            {
                if (record.State == DeviceState.Offline) continue;
                TimeSpan interval = record.HeartbeatInterval > TimeSpan.Zero ? record.HeartbeatInterval : _options.DefaultHeartbeatInterval;
                if (now - record.LastSeen > interval * _options.OfflineAfterIntervals)
                {
                    durable = SetState(record, DeviceState.Offline, "missed_heartbeats") ?? durable;
                    offline++;
                }
            }
            if (_dirty.Count > 0 && _store is not null)
            {
                durable = Persist(new UpdateLiveness([.. _dirty.Select(LivenessRow.Of)]), null);
                _dirty.Clear();
            }
        }
        WaitDurable(durable); // the writer applies in order: the last write durable means all of them are
        return offline;
    }

    /// <summary>Called under the lock. Queues the write and the announcement of a state change; null when nothing changed.</summary>
    private Task? SetState(DeviceRecord record, DeviceState state, string cause)
    {
        if (record.State == state) return null;
        DeviceState before = record.State;
        record.State = state;
        _dirty.Remove(record);
        string name = state.ToString().ToLowerInvariant();
        Metrics.Transition(name, cause);
        _logger.LogInformation("Device '{Device}' {Before} -> {After} ({Cause}, birth sequence {Seq})", Untrusted.Escape(record.DeviceId),
            before.ToString().ToLowerInvariant(), name, cause, record.BirthSequence);
        // Announced in queue order once durable, so observers see transitions in order.
        return Persist(new UpdateLiveness([LivenessRow.Of(record)]), new RegistryChange(RegistryChangeKind.StateChanged, record, cause));
    }

    private void RebuildIndex() => _index = RegistryIndex.Build(_devices.Values);

    /// <summary>The current lookup snapshot (tests compare it with a full rebuild).</summary>
    internal RegistryIndex Index => _index;

    public void Dispose()
    {
        lock (_lock)
        {
            if (_dirty.Count > 0 && _writer is not null) _writer.Enqueue(new UpdateLiveness([.. _dirty.Select(LivenessRow.Of)]), null);
            _dirty.Clear();
        }
        _writer?.Dispose(); // drains the queue: every change made is on disk before the store closes
        Metrics.Dispose();
    }
}
