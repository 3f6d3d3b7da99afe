namespace Alicia.Assistant.Actions;

/// <summary>
/// Spoken timers, on the engine's clock: one list per conversation (room or session); when a timer is done the
/// callback tells the room. Cancelling stops the most recent one.
/// </summary>
internal sealed class TimerService(TimeProvider clock) : IDisposable
{
    private readonly Dictionary<string, List<ITimer>> _timers = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public void Start(string key, TimeSpan duration, Func<Task> done)
    {
        ITimer? timer = null;
        timer = clock.CreateTimer(_ =>
        {
            lock (_lock)
                if (_timers.TryGetValue(key, out List<ITimer>? list)) list.Remove(timer!);
            _ = done();
        }, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        lock (_lock)
        {
            if (!_timers.TryGetValue(key, out List<ITimer>? list)) _timers[key] = list = [];
            list.Add(timer);
        }
        timer.Change(duration, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Cancels the most recent timer of the conversation; false when none runs.</summary>
    public bool CancelLatest(string key)
    {
        ITimer? timer;
        lock (_lock)
        {
            if (!_timers.TryGetValue(key, out List<ITimer>? list) || list.Count == 0) return false;
            timer = list[^1];
            list.RemoveAt(list.Count - 1);
        }
        timer.Dispose();
        return true;
    }

    public int Running(string key)
    {
        lock (_lock) return _timers.TryGetValue(key, out List<ITimer>? list) ? list.Count : 0;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (ITimer t in _timers.Values.SelectMany(l => l)) t.Dispose();
            _timers.Clear();
        }
    }
}
