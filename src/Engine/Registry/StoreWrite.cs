using Alicia.Contracts.Messages;

namespace Alicia.Engine.Registry;

/// <summary>
/// One change to the registry database, captured under the registry's lock (a snapshot: the live
/// <see cref="DeviceRecord"/> keeps changing) and applied later, in order, by the <see cref="RegistryWriter"/>.
/// </summary>
internal abstract record StoreWrite;

/// <summary>A device and its capability index, inserted or replaced.</summary>
internal sealed record UpsertDevice(DeviceRegistration Registration, string Owner, DateTimeOffset RegisteredAt, string[] Capabilities, LivenessRow Liveness) : StoreWrite
{
    public static UpsertDevice Of(DeviceRecord record) => new(record.Registration, record.Owner, record.RegisteredAt, record.CapabilityNames, LivenessRow.Of(record));
}

/// <summary>A device removed (its capability rows cascade).</summary>
internal sealed record DeleteDevice(string DeviceId) : StoreWrite;

/// <summary>Liveness of one or more devices (state changes, births, batched last-seen times).</summary>
internal sealed record UpdateLiveness(LivenessRow[] Rows) : StoreWrite;

/// <summary>The liveness columns of a device at the moment it was captured.</summary>
internal readonly record struct LivenessRow(string DeviceId, DeviceState State, long BirthSequence, DateTimeOffset LastSeen, TimeSpan HeartbeatInterval)
{
    public static LivenessRow Of(DeviceRecord record) => new(record.DeviceId, record.State, record.BirthSequence, record.LastSeen, record.HeartbeatInterval);
}
