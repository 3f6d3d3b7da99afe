using System.Collections.Immutable;

namespace Alicia.Engine.Registry;

internal readonly record struct CapabilityPlace(string Capability, string Location);

/// <summary>
/// An immutable snapshot of the registry's lookups (every bucket sorted by device id), read by the router
/// without locking. A change produces the next snapshot incrementally: only the buckets of the device's
/// old and new capabilities and location are copied, and the maps are persistent (shared structure), so
/// registering into 1,000 devices costs what one device's entries cost, not a rebuild of all of them.
/// </summary>
internal sealed class RegistryIndex
{
    public static readonly RegistryIndex Empty = Build([]);

    private RegistryIndex(DeviceRecord[] all, ImmutableDictionary<string, DeviceRecord> byId, ImmutableDictionary<string, DeviceRecord[]> byCapability,
        ImmutableDictionary<string, DeviceRecord[]> byLocation, ImmutableDictionary<CapabilityPlace, DeviceRecord[]> byCapabilityAndLocation)
    {
        All = all;
        ById = byId;
        ByCapability = byCapability;
        ByLocation = byLocation;
        ByCapabilityAndLocation = byCapabilityAndLocation;
    }

    public DeviceRecord[] All { get; }
    public ImmutableDictionary<string, DeviceRecord> ById { get; }
    public ImmutableDictionary<string, DeviceRecord[]> ByCapability { get; }
    public ImmutableDictionary<string, DeviceRecord[]> ByLocation { get; }
    public ImmutableDictionary<CapabilityPlace, DeviceRecord[]> ByCapabilityAndLocation { get; }

    /// <summary>The full build (at start, from the store); also the reference the incremental path is tested against.</summary>
    public static RegistryIndex Build(IEnumerable<DeviceRecord> devices)
    {
        DeviceRecord[] all = [.. devices.OrderBy(d => d.DeviceId, StringComparer.Ordinal)];
        return new RegistryIndex(
            all,
            all.ToImmutableDictionary(d => d.DeviceId, StringComparer.Ordinal),
            all.SelectMany(d => d.CapabilityNames.Distinct(StringComparer.Ordinal).Select(c => (c, d))).GroupBy(x => x.c, StringComparer.Ordinal)
                .ToImmutableDictionary(g => g.Key, g => g.Select(x => x.d).ToArray(), StringComparer.Ordinal),
            all.GroupBy(d => d.Location, StringComparer.Ordinal).ToImmutableDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal),
            all.SelectMany(d => d.CapabilityNames.Distinct(StringComparer.Ordinal).Select(c => (k: new CapabilityPlace(c, d.Location), d))).GroupBy(x => x.k)
                .ToImmutableDictionary(g => g.Key, g => g.Select(x => x.d).ToArray()));
    }

    /// <summary>The next snapshot with <paramref name="removed"/>'s entries gone and <paramref name="added"/>'s in (either may be null; an update passes both).</summary>
    public RegistryIndex With(DeviceRecord? removed, DeviceRecord? added)
    {
        DeviceRecord[] all = All;
        ImmutableDictionary<string, DeviceRecord> byId = ById;
        ImmutableDictionary<string, DeviceRecord[]> byCapability = ByCapability, byLocation = ByLocation;
        ImmutableDictionary<CapabilityPlace, DeviceRecord[]> byPlace = ByCapabilityAndLocation;
        if (removed is not null)
        {
            all = Without(all, removed.DeviceId) ?? [];
            byId = byId.Remove(removed.DeviceId);
            foreach (string capability in removed.CapabilityNames.Distinct(StringComparer.Ordinal))
            {
                byCapability = Remove(byCapability, capability, removed.DeviceId);
                byPlace = Remove(byPlace, new CapabilityPlace(capability, removed.Location), removed.DeviceId);
            }
            byLocation = Remove(byLocation, removed.Location, removed.DeviceId);
        }
        if (added is not null)
        {
            all = Inserted(all, added);
            byId = byId.SetItem(added.DeviceId, added);
            foreach (string capability in added.CapabilityNames.Distinct(StringComparer.Ordinal))
            {
                byCapability = Add(byCapability, capability, added);
                byPlace = Add(byPlace, new CapabilityPlace(capability, added.Location), added);
            }
            byLocation = Add(byLocation, added.Location, added);
        }
        return new RegistryIndex(all, byId, byCapability, byLocation, byPlace);
    }

    private static ImmutableDictionary<TKey, DeviceRecord[]> Remove<TKey>(ImmutableDictionary<TKey, DeviceRecord[]> map, TKey key, string deviceId) where TKey : notnull
    {
        if (!map.TryGetValue(key, out DeviceRecord[]? bucket)) return map;
        DeviceRecord[]? rest = Without(bucket, deviceId);
        return rest is null ? map.Remove(key) : map.SetItem(key, rest);
    }

    private static ImmutableDictionary<TKey, DeviceRecord[]> Add<TKey>(ImmutableDictionary<TKey, DeviceRecord[]> map, TKey key, DeviceRecord record) where TKey : notnull =>
        map.SetItem(key, Inserted(map.TryGetValue(key, out DeviceRecord[]? bucket) ? bucket : [], record));

    private static int Find(DeviceRecord[] sorted, string deviceId)
    {
        int lo = 0, hi = sorted.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int c = string.CompareOrdinal(sorted[mid].DeviceId, deviceId);
            if (c == 0) return mid;
            if (c < 0) lo = mid + 1; else hi = mid - 1;
        }
        return ~lo;
    }

    /// <summary>A copy without <paramref name="deviceId"/>; null when that leaves it empty.</summary>
    private static DeviceRecord[]? Without(DeviceRecord[] sorted, string deviceId)
    {
        int at = Find(sorted, deviceId);
        if (at < 0) return sorted;
        if (sorted.Length == 1) return null;
        var copy = new DeviceRecord[sorted.Length - 1];
        Array.Copy(sorted, 0, copy, 0, at);
        Array.Copy(sorted, at + 1, copy, at, sorted.Length - at - 1);
        return copy;
    }

    /// <summary>A copy with <paramref name="record"/> in its sorted place (replacing a record with the same id).</summary>
    private static DeviceRecord[] Inserted(DeviceRecord[] sorted, DeviceRecord record)
    {
        int at = Find(sorted, record.DeviceId);
        if (at >= 0)
        {
            DeviceRecord[] replaced = (DeviceRecord[])sorted.Clone();
            replaced[at] = record;
            return replaced;
        }
        at = ~at;
        var copy = new DeviceRecord[sorted.Length + 1];
        Array.Copy(sorted, 0, copy, 0, at);
        copy[at] = record;
        Array.Copy(sorted, at, copy, at + 1, sorted.Length - at);
        return copy;
    }
}
