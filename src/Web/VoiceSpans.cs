using System.Collections.Concurrent;
using System.Diagnostics;

namespace Alicia.Web;

/// <summary>One finished span as the dashboard keeps it.</summary>
internal sealed record SpanRecord(ActivitySpanId SpanId, ActivitySpanId ParentSpanId, string Source, string Name, DateTime Start, TimeSpan Duration, int Utterance);

/// <summary>
/// The real spans of recent voice requests, for the dashboard's waterfalls: listens to the voice and assistant sources
/// (and to bus spans inside a voice trace, which link the router to the utterance it answers) only while a page is open
/// (the <c>watching</c> callback); otherwise it samples nothing and the spans are never made. Keeps the last
/// <see cref="MaxTraces"/> traces, each bounded.
/// </summary>
internal sealed class VoiceSpans : IDisposable
{
    public const int MaxTraces = 50;
    private const int MaxSpansPerTrace = 256;
    private const string VoiceSource = "Alicia.Voice", AssistantSource = "Alicia.Assistant", BusSource = "Alicia.Bus";

    private readonly ActivityListener _listener;
    private readonly Func<bool> _watching;
    private readonly ConcurrentDictionary<ActivityTraceId, List<SpanRecord>> _traces = new();
    private readonly ConcurrentQueue<ActivityTraceId> _order = new();

    public VoiceSpans(Func<bool> watching)
    {
        _watching = watching;
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is VoiceSource or AssistantSource or BusSource,
            Sample = Sample,
            ActivityStopped = OnStopped,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>A milestone span of a trace ended (an utterance, a route, a reply): its waterfall may be redrawn.</summary>
    public event Action<string>? Updated;

    private ActivitySamplingResult Sample(ref ActivityCreationOptions<ActivityContext> options)
    {
        if (!_watching()) return ActivitySamplingResult.None;
        if (options.Source.Name != BusSource) return ActivitySamplingResult.AllDataAndRecorded;
        // Bus spans only inside a trace a voice session started: they link the hops, and nothing else is kept.
        return options.Parent != default && _traces.ContainsKey(options.Parent.TraceId) ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.None;
    }

    private void OnStopped(Activity activity)
    {
        string source = activity.Source.Name;
        List<SpanRecord> spans;
        if (source == VoiceSource && activity.OperationName == "voice session" && !_traces.ContainsKey(activity.TraceId)) return; // an empty session
        if (!_traces.TryGetValue(activity.TraceId, out spans!))
        {
            if (source == BusSource) return;
            spans = _traces.GetOrAdd(activity.TraceId, _ => []);
            _order.Enqueue(activity.TraceId);
            while (_order.Count > MaxTraces && _order.TryDequeue(out ActivityTraceId old)) _traces.TryRemove(old, out _);
        }
        int utterance = activity.GetTagItem("alicia.voice.utterance") is int u ? u : -1;
        lock (spans)
        {
            if (spans.Count >= MaxSpansPerTrace) return;
            spans.Add(new SpanRecord(activity.SpanId, activity.ParentSpanId, source, activity.DisplayName, activity.StartTimeUtc, activity.Duration, utterance));
        }
        if (source != BusSource && activity.OperationName is "voice utterance" or "assistant route" or "llm request" or "voice reply")
            Updated?.Invoke(activity.TraceId.ToHexString());
    }

    /// <summary>
    /// The voice and assistant spans of one utterance of a trace, in start order: the utterance's span and everything
    /// under it (across the bus hops); empty when none were recorded (then the dashboard rebuilds the stages from the
    /// transcript's timings).
    /// </summary>
    public IReadOnlyList<SpanRecord> Of(string traceId, int utterance)
    {
        if (traceId.Length != 32 || !_traces.TryGetValue(ActivityTraceId.CreateFromString(traceId), out List<SpanRecord>? spans)) return [];
        SpanRecord[] all;
        lock (spans) all = [.. spans];
        SpanRecord? root = all.FirstOrDefault(s => s.Name == "voice utterance" && s.Utterance == utterance);
        if (root is null) return [];
        var inside = new HashSet<ActivitySpanId> { root.SpanId };
        // Parents end after their children, so a few passes settle the tree (bounded by the span cap).
        for (bool grew = true; grew;)
        {
            grew = false;
            foreach (SpanRecord s in all)
                if (!inside.Contains(s.SpanId) && inside.Contains(s.ParentSpanId)) grew |= inside.Add(s.SpanId);
        }
        return [.. all.Where(s => s.Source != BusSource && inside.Contains(s.SpanId)).OrderBy(s => s.Start)];
    }

    public void Dispose() => _listener.Dispose();
}
