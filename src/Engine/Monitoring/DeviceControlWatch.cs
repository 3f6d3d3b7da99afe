using Alicia.Contracts.Messages;
using System.Collections.Concurrent;

namespace Alicia.Engine.Monitoring;

/// <summary>
/// The device-control budget: a <c>DeviceCommand</c> seen on the bus is timed until that device's next status or data
/// report (its echo, as the assistant confirms commands). One command is timed per device at a time; a device that never
/// echoes is forgotten after <see cref="Forget"/>, and at most <see cref="MaxPending"/> are tracked, so a flood stays bounded.
/// </summary>
internal sealed class DeviceControlWatch(LatencyBudgetMonitor budgets, TimeProvider clock)
{
    public const string Budget = "device_control";
    private const int MaxPending = 4096;
    private static readonly TimeSpan Forget = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, (long Seen, string TraceId)> _pending = new(StringComparer.Ordinal);

    /// <summary>A command to <paramref name="deviceId"/> was seen (the first pending one is timed).</summary>
    public void Commanded(string deviceId, string traceId)
    {
        long now = clock.GetTimestamp();
        if (_pending.TryGetValue(deviceId, out var pending) && clock.GetElapsedTime(pending.Seen, now) <= Forget) return;
        if (_pending.Count >= MaxPending && !_pending.ContainsKey(deviceId)) return;
        _pending[deviceId] = (now, traceId);
    }

    /// <summary>The device reported (status or data): closes its pending command and checks the budget.</summary>
    public BudgetExceeded? Echoed(string deviceId)
    {
        if (!_pending.TryRemove(deviceId, out var pending)) return null;
        TimeSpan elapsed = clock.GetElapsedTime(pending.Seen);
        if (elapsed > Forget) return null;
        double ms = elapsed.TotalMilliseconds;
        return budgets.Check(Budget, ms, [new("device_echo", ms)], pending.TraceId);
    }

    /// <summary>The device id in <c>alicia/devices/{id}/...</c>, or null.</summary>
    public static string? DeviceOf(string topic)
    {
        const string Prefix = "alicia/devices/";
        if (!topic.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        int end = topic.IndexOf('/', Prefix.Length);
        return end > Prefix.Length ? topic[Prefix.Length..end] : null;
    }
}
