using System.Collections.Concurrent;
using Alicia.Assistant.Intents;

namespace Alicia.Assistant.Actions;

/// <summary>
/// The latest values each device reported on <c>alicia/devices/{id}/data</c> (a sensor's readings, an actuator's
/// state after a command), and the commands waiting for a device's echo to confirm them.
/// </summary>
internal sealed class DeviceStateCache : IDeviceReadings
{
    private readonly ConcurrentDictionary<string, Dictionary<string, double>> _values = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, List<EchoWaiter>> _waiters = new(StringComparer.Ordinal);

    public bool TryGet(string deviceId, string key, out double value)
    {
        value = 0;
        if (!_values.TryGetValue(deviceId, out Dictionary<string, double>? values)) return false;
        lock (values) return values.TryGetValue(key, out value);
    }

    /// <summary>Raised after a device's values were stored (tests wait on it instead of sleeping).</summary>
    public event Action<string>? Reported;

    /// <summary>A device reported values: remember them and complete the waiters they satisfy.</summary>
    public void Report(string deviceId, IReadOnlyDictionary<string, double> reported)
    {
        Dictionary<string, double> values = _values.GetOrAdd(deviceId, static _ => []);
        lock (values)
            foreach ((string key, double value) in reported) values[key] = value;
        Reported?.Invoke(deviceId);
        if (!_waiters.TryGetValue(deviceId, out List<EchoWaiter>? waiters)) return;
        lock (waiters)
        {
            for (int i = waiters.Count - 1; i >= 0; i--)
            {
                if (!waiters[i].Satisfied(reported)) continue;
                waiters[i].Completion.TrySetResult(true);
                waiters.RemoveAt(i);
            }
        }
    }

    /// <summary>Starts waiting for an echo of <paramref name="deviceId"/> with the <paramref name="expected"/> values (before the command is sent).</summary>
    public EchoWaiter Expect(string deviceId, IReadOnlyDictionary<string, double> expected)
    {
        var waiter = new EchoWaiter(deviceId, expected, this);
        List<EchoWaiter> waiters = _waiters.GetOrAdd(deviceId, static _ => []);
        lock (waiters) waiters.Add(waiter);
        return waiter;
    }

    internal void Forget(EchoWaiter waiter)
    {
        if (!_waiters.TryGetValue(waiter.DeviceId, out List<EchoWaiter>? waiters)) return;
        lock (waiters) waiters.Remove(waiter);
    }
}

/// <summary>One command waiting for its device's echo; disposing stops waiting.</summary>
internal sealed class EchoWaiter(string deviceId, IReadOnlyDictionary<string, double> expected, DeviceStateCache cache) : IDisposable
{
    public string DeviceId { get; } = deviceId;
    public TaskCompletionSource<bool> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The echo carries every expected value it reports (a value it does not report is not held against it).</summary>
    public bool Satisfied(IReadOnlyDictionary<string, double> reported)
    {
        foreach ((string key, double value) in expected)
            if (reported.TryGetValue(key, out double actual) && Math.Abs(actual - value) > Tolerance(key, value)) return false;
        return true;
    }

    /// <summary>
    /// How far a reported value may be from the commanded one: volume is a fraction (0..1), so a hundredth; a colour
    /// temperature may come back through mireds, so 1 %; brightness and on/off are whole numbers.
    /// </summary>
    internal static double Tolerance(string key, double value) => key switch
    {
        "volume" => 0.005,
        "color_temp_kelvin" => Math.Max(1, Math.Abs(value) * 0.01),
        _ => 0.5,
    };

    public void Dispose() => cache.Forget(this);
}
