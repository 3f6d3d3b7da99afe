using System.Collections.Concurrent;

namespace Alicia.Engine.Security;

/// <summary>
/// Follows each source's <c>security.sequence</c> over verified messages, so gaps (messages lost or
/// withheld between sender and receiver) and restarts (a sender that began counting again) are visible
/// in metrics and here. A state object is allocated once per source; updates allocate nothing.
/// </summary>
internal sealed class SequenceTracker
{
    private sealed class SourceState
    {
        public long Last;
        public long Gaps;
        public long Restarts;
    }

    private readonly ConcurrentDictionary<string, SourceState> _sources = new(StringComparer.Ordinal);

    /// <summary>Records <paramref name="sequence"/> from <paramref name="source"/>; returns the number of messages missing before it.</summary>
    public long Observe(string source, long sequence)
    {
        if (sequence <= 0) return 0;
        if (!_sources.TryGetValue(source, out SourceState? state))
        {
            if (_sources.Count >= 100_000) return 0; // bounded: a flood of invented sources is refused earlier anyway
            state = _sources.GetOrAdd(source, static _ => new SourceState());
        }
        lock (state)
        {
            long last = state.Last;
            state.Last = sequence;
            if (last == 0) return 0;
            if (sequence > last + 1)
            {
                long missing = sequence - last - 1;
                state.Gaps += missing;
                return missing;
            }
            if (sequence <= last) state.Restarts++;
            return 0;
        }
    }

    public (long Last, long Gaps, long Restarts) Of(string source)
    {
        if (!_sources.TryGetValue(source, out SourceState? state)) return default;
        lock (state) return (state.Last, state.Gaps, state.Restarts);
    }
}
