using System.Collections.Concurrent;
using Alicia.Contracts.Messages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alicia.Engine.Registry;

/// <summary>Where a capability-addressed command goes.</summary>
internal sealed record RouteDecision(int Status, DeviceRecord[] Devices, string Location, string FallbackUsed, string Reason)
{
    public bool Routed => Status == 200;
}

/// <summary>
/// Resolves "capability in place" to live devices through the registry's index: live devices in the place
/// first (round-robin among them, so instances of a service share the work), honouring each device's
/// <c>rate_limit</c> and <c>max_connections</c>; when none can take it, the fallback the caller allowed
/// (another place), else a clear error. Each decision is logged and counted (meter Alicia.Registry).
/// </summary>
internal sealed class CapabilityRouter(DeviceRegistry registry, TimeProvider? clock = null, ILogger? logger = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    private readonly ConcurrentDictionary<string, StrongBox> _cursors = new(StringComparer.Ordinal);

    public DeviceRegistry Registry => registry;

    /// <summary>
    /// Resolves and reserves: the chosen devices have spent a rate-limit token, and when <paramref name="lease"/>
    /// is true one of their <c>max_connections</c> slots, to give back with <see cref="Release"/>.
    /// </summary>
    public RouteDecision Resolve(string capability, string location, RouteFallback fallback = RouteFallback.None, bool all = false, bool lease = false, string? exclude = null)
    {
        RouteDecision decision = ResolveCore(capability, location ?? "", fallback, all, lease, exclude);
        string outcome = decision.Routed ? (decision.FallbackUsed == "any_location" ? "fallback" : "routed")
            : decision.Status switch { 404 => "no_capability", 429 => "limited", _ => "offline" };
        registry.Metrics.Route(outcome);
        if (decision.Routed && _logger.IsEnabled(LogLevel.Information))
            _logger.LogInformation("Route {Capability}@{Location} -> {Devices} ({Fallback})", capability, Show(location), string.Join(",", decision.Devices.Select(d => d.DeviceId)), decision.FallbackUsed);
        else if (!decision.Routed)
            _logger.LogWarning("Route {Capability}@{Location} failed: {Status} {Reason}", capability, Show(location), decision.Status, decision.Reason);
        return decision;
    }

    /// <summary>Lookup only: the live devices with the capability in the place, without reserving anything.</summary>
    public DeviceRecord[] Live(string capability, string location)
    {
        DeviceRecord[] candidates = string.IsNullOrEmpty(location) ? registry.WithCapability(capability) : registry.WithCapabilityIn(capability, location);
        return Array.FindAll(candidates, d => d.IsLive);
    }

    public static void Release(RouteDecision decision)
    {
        foreach (DeviceRecord d in decision.Devices) d.Exit();
    }

    private RouteDecision ResolveCore(string capability, string location, RouteFallback fallback, bool all, bool lease, string? exclude)
    {
        DeviceRecord[] anywhere = registry.WithCapability(capability);
        if (anywhere.Length == 0) return new(404, [], location, "none", $"no registered device has capability '{capability}'");

        DeviceRecord[] here = string.IsNullOrEmpty(location) ? anywhere : registry.WithCapabilityIn(capability, location);
        int limited = 0;
        DeviceRecord[] chosen = Pick(capability + "@" + location, here, all, lease, exclude, ref limited);
        if (chosen.Length > 0)
            return new(200, chosen, location, chosen[0] != FirstLive(here, exclude) && !all ? "another_device" : "none", "");

        if (fallback == RouteFallback.AnyLocation && !string.IsNullOrEmpty(location))
        {
            DeviceRecord[] elsewhere = Array.FindAll(anywhere, d => !string.Equals(d.Location, location, StringComparison.Ordinal));
            chosen = Pick(capability + "@*", elsewhere, all, lease, exclude, ref limited);
            if (chosen.Length > 0) return new(200, chosen, chosen[0].Location, "any_location", $"no device available in '{location}'");
        }

        string where = string.IsNullOrEmpty(location) ? "anywhere" : $"in '{location}'";
        if (here.Length == 0)
            return new(404, [], location, "none", $"no device with capability '{capability}' {where} (registered elsewhere: {string.Join(", ", anywhere.Select(d => d.Location).Distinct())}){(fallback == RouteFallback.None ? "; the caller allowed no fallback" : "; none live elsewhere either")}");
        if (limited > 0)
            return new(429, [], location, "none", $"every live device with '{capability}' {where} is at its rate_limit or max_connections");
        return new(503, [], location, "none", $"no live device with '{capability}' {where} ({here.Length} registered, all offline){(fallback == RouteFallback.None ? "; the caller allowed no fallback" : "")}");
    }

    private static DeviceRecord? FirstLive(DeviceRecord[] candidates, string? exclude) =>
        Array.Find(candidates, d => d.IsLive && d.DeviceId != exclude);

    private DeviceRecord[] Pick(string key, DeviceRecord[] candidates, bool all, bool lease, string? exclude, ref int limited)
    {
        if (candidates.Length == 0) return [];
        if (all)
        {
            var list = new List<DeviceRecord>(candidates.Length);
            foreach (DeviceRecord d in candidates)
            {
                if (!d.IsLive || d.DeviceId == exclude) continue;
                if (TryReserve(d, lease)) list.Add(d);
                else limited++;
            }
            return [.. list];
        }

        // Round-robin over the candidates; among live ones, online before degraded.
        StrongBox cursor = _cursors.GetOrAdd(key, static _ => new StrongBox());
        int start = (int)((uint)Interlocked.Increment(ref cursor.Value) % (uint)candidates.Length);
        DeviceRecord? degraded = null;
        for (int pass = 0; pass < 2; pass++)
        {
            for (int i = 0; i < candidates.Length; i++)
            {
                DeviceRecord d = candidates[(start + i) % candidates.Length];
                if (!d.IsLive || d.DeviceId == exclude) continue;
                if (pass == 0 && d.State == DeviceState.Degraded) { degraded ??= d; continue; }
                if (pass == 1 && d.State != DeviceState.Degraded) continue;
                if (TryReserve(d, lease)) return [d];
                limited++;
            }
            if (degraded is null) break;
        }
        return [];
    }

    private bool TryReserve(DeviceRecord device, bool lease)
    {
        if (lease && !device.TryEnter()) return false;
        if (device.Bucket(_clock) is { } limit && !limit.TryTake())
        {
            if (lease) device.Exit();
            return false;
        }
        return true;
    }

    private static string Show(string? location) => string.IsNullOrEmpty(location) ? "*" : location;

    private sealed class StrongBox
    {
        public int Value;
    }
}
