using Alicia.Contracts.Messages;
using System.Collections.Concurrent;

namespace Alicia.Engine.Monitoring;

/// <summary>
/// The device-control budget: a <c>DeviceCommand</c> seen on the bus is timed until that device's next data
/// report (its echo, as the assistant confirms commands). One command is timed per device at a time; a device that never
/// echoes is forgotten after <see cref="Forget"/>, and at most <see cref="MaxPending"/> are tracked, so a flood stays bounded.
/// </summary>
internal sealed class DeviceControlWatch(LatencyBudgetMonitor budgets, TimeProvider clock)
{
    public const string Budget = "device_control";
    private const int MaxPending = 4096;
    private static readonly TimeSpan Forget = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, (DateTimeOffset Sent, string TraceId)> _pending = new(StringComparer.Ordinal);

    // Commands and reports arrive on separate subscriptions, so a quick echo can be dispatched before its command:
    // an unmatched report is kept briefly and matched when the command shows up.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _earlyEchoes = new(StringComparer.Ordinal);

    /// <summary>
    /// A command to <paramref name="deviceId"/> was seen (the first pending one is timed), from <paramref name="sentAt"/>
    /// (its signed timestamp; never later than now) or from now.
    /// </summary>
    public BudgetExceeded? Commanded(string deviceId, string traceId, DateTimeOffset? sentAt = null)
    {
        DateTimeOffset now = clock.GetUtcNow();
        DateTimeOffset sent = sentAt is { } at && at <= now && now - at <= Forget ? at : now;
        if (_earlyEchoes.TryRemove(deviceId, out DateTimeOffset echoed) && echoed >= sent)
            return Check(echoed - sent, traceId);
        if (_pending.TryGetValue(deviceId, out var pending) && now - pending.Sent <= Forget) return null;
        if (_pending.Count >= MaxPending && !_pending.ContainsKey(deviceId)) return null;
        _pending[deviceId] = (sent, traceId);
        return null;
    }

    /// <summary>The device reported (status or data): closes its pending command and checks the budget.</summary>
    public BudgetExceeded? Echoed(string deviceId)
    {
        DateTimeOffset now = clock.GetUtcNow();
        if (!_pending.TryRemove(deviceId, out var pending))
        {
            if (_earlyEchoes.Count < MaxPending || _earlyEchoes.ContainsKey(deviceId)) _earlyEchoes[deviceId] = now;
            return null;
        }
        TimeSpan elapsed = now - pending.Sent;
        return elapsed > Forget ? null : Check(elapsed, pending.TraceId);
    }

    private BudgetExceeded? Check(TimeSpan elapsed, string traceId)
    {
        double ms = elapsed.TotalMilliseconds;
        return budgets.Check(Budget, ms, [new("device_echo", ms)], traceId);
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
