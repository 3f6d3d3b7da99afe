using Alicia.Engine.Security.Audit;

namespace Alicia.Engine.Security.Gateway;

/// <summary>
/// Repeated refusals aggregated for the audit log: the first refusal of a client for a reason within a window is
/// recorded as it happens, the ones after it are only counted, and one row per client, reason and window then says
/// how many more there were. A flood of denied publishes costs a few rows a minute, not one row per message.
/// </summary>
internal sealed class RefusalAudit(AuditLog? audit, TimeProvider clock, TimeSpan window)
{
    private const int MaxTracked = 10_000;
    private readonly Dictionary<(string Group, string Kind, string Metric), Entry> _entries = [];
    private readonly Lock _lock = new();

    private sealed class Entry
    {
        public long Start;
        public long Repeats;
        public string Identity = "";
        public string Topic = "";
        public string Decision = "";
        public string Rule = "";
    }

    /// <summary>
    /// Records a refusal; true when it was written as a row of its own (the first in its window), false when only counted.
    /// Refusals are grouped by <paramref name="group"/> (by default the identity; the source address for refused connects,
    /// whose claimed client ids an attacker can vary at will).
    /// </summary>
    public bool Refused(string kind, string identity, string metric, string topic, string decision, string rule, string? group = null)
    {
        group ??= identity;
        long now = clock.GetTimestamp();
        long windowTicks = (long)(window.TotalSeconds * clock.TimestampFrequency);
        lock (_lock)
        {
            if (_entries.TryGetValue((group, kind, metric), out Entry? e) && now - e.Start <= windowTicks)
            {
                e.Repeats++;
                e.Identity = identity;
                e.Topic = topic;
                e.Decision = decision;
                e.Rule = rule;
                return false;
            }
            if (e is not null) Summarize(kind, e);
            else
            {
                if (_entries.Count >= MaxTracked) FlushAllLocked();
                _entries[(group, kind, metric)] = e = new Entry();
            }
            e.Start = now;
            e.Repeats = 0;
        }
        audit?.Record(kind, identity, topic, decision, rule);
        return true;
    }

    /// <summary>Writes the pending counts of <paramref name="identity"/> (its connection ended).</summary>
    public void Flush(string identity)
    {
        lock (_lock)
        {
            foreach ((var key, Entry e) in _entries.Where(p => p.Key.Group == identity).ToList())
            {
                Summarize(key.Kind, e);
                _entries.Remove(key);
            }
        }
    }

    /// <summary>Writes every pending count.</summary>
    public void FlushAll()
    {
        lock (_lock) FlushAllLocked();
    }

    private void FlushAllLocked()
    {
        foreach (((_, string kind, _), Entry e) in _entries) Summarize(kind, e);
        _entries.Clear();
    }

    private void Summarize(string kind, Entry e)
    {
        if (e.Repeats == 0) return;
        audit?.Record(kind, e.Identity, e.Topic, $"{e.Decision} x{e.Repeats}",
            $"{e.Rule} (refused {e.Repeats} more times within {window.TotalSeconds:0} s after the first; the last topic is shown)");
        e.Repeats = 0;
    }
}
