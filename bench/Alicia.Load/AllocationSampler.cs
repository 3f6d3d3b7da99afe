using System.Diagnostics.Tracing;

namespace Alicia.Load;

/// <summary>
/// A poor man's allocation profiler: listens to the runtime's GC AllocationTick events (one per ~100 KB
/// allocated, naming the type of the object that crossed the threshold) and sums them by type. Sampled,
/// so shares are approximate, but enough to tell which types the bytes per message go to.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly Dictionary<string, (long Bytes, long Samples)> _byType = new(StringComparer.Ordinal);
    private volatile bool _enabled;

    public bool Enabled
    {
        get => _enabled;
        set => _enabled = value;
    }

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, GcKeyword);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (!_enabled || e.EventName is null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.Payload is null || e.PayloadNames is null) return;
        string type = "?";
        long bytes = 0;
        for (int i = 0; i < e.PayloadNames.Count; i++)
        {
            switch (e.PayloadNames[i])
            {
                case "TypeName": type = e.Payload[i] as string ?? "?"; break;
                case "AllocationAmount64": bytes = Convert.ToInt64(e.Payload[i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "AllocationAmount" when bytes == 0: bytes = Convert.ToInt64(e.Payload[i], System.Globalization.CultureInfo.InvariantCulture); break;
            }
        }
        lock (_byType)
        {
            _byType.TryGetValue(type, out (long Bytes, long Samples) v);
            _byType[type] = (v.Bytes + bytes, v.Samples + 1);
        }
    }

    public string Report(long messages, int top = 25)
    {
        (string Type, long Bytes, long Samples)[] rows;
        lock (_byType) rows = [.. _byType.Select(kv => (kv.Key, kv.Value.Bytes, kv.Value.Samples)).OrderByDescending(r => r.Bytes)];
        long total = rows.Sum(r => r.Bytes);
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"Sampled allocations by type (GC AllocationTick, ~100 KB per sample; {total / 1024.0 / 1024.0:0.0} MB sampled, {messages} messages):");
        sb.AppendLine("| type | share | ~B/msg |");
        sb.AppendLine("|:-----|------:|-------:|");
        foreach ((string type, long bytes, long _) in rows.Take(top))
            sb.AppendLine($"| {type} | {100.0 * bytes / Math.Max(1, total):0.0}% | {bytes / (double)Math.Max(1, messages):0} |");
        return sb.ToString();
    }
}
