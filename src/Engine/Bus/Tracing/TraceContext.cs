using System.Diagnostics;

namespace Alicia.Engine.Bus.Tracing;

/// <summary>W3C Trace Context (<c>traceparent</c>: <c>00-{trace id}-{span id}-{flags}</c>) as Alicia carries it in envelopes.</summary>
public static class TraceContext
{
    /// <summary>The metadata key and MQTT 5 user property name.</summary>
    public const string TraceParent = "traceparent";

    /// <summary>The <c>traceparent</c> of <paramref name="context"/>.</summary>
    public static string Format(ActivityContext context) =>
        $"00-{context.TraceId.ToHexString()}-{context.SpanId.ToHexString()}-{((context.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? "01" : "00")}";

    /// <summary>Reads a <c>traceparent</c>; false when it is missing or malformed (then the message starts a new trace).</summary>
    public static bool TryParse(string? traceParent, out ActivityContext context) =>
        ActivityContext.TryParse(traceParent, null, isRemote: true, out context);

    /// <summary>The trace id of an envelope's metadata, or empty.</summary>
    public static string TraceIdOf(IReadOnlyDictionary<string, string>? metadata) =>
        metadata is not null && metadata.TryGetValue(TraceParent, out string? value) && TryParse(value, out ActivityContext context)
            ? context.TraceId.ToHexString() : "";
}
