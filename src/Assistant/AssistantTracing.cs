using System.Diagnostics;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus.Tracing;

namespace Alicia.Assistant;

/// <summary>
/// Spans of the assistant (source <c>Alicia.Assistant</c>): routing one transcript or text request, joined to the trace
/// its envelope carried (a voice session's), and the LLM request when there is one. The route span is the ambient span
/// while the router works, so the route, the reply pieces and any device command it publishes carry the same trace.
/// Nothing is made (or parsed) when nobody listens.
/// </summary>
internal static class AssistantTracing
{
    public const string SourceName = "Alicia.Assistant";

    public static readonly ActivitySource Source = new(SourceName);

    public static Activity? StartRoute(IReadOnlyDictionary<string, string>? metadata, string from)
    {
        if (!Source.HasListeners()) return null;
        ActivityContext parent = metadata is not null && metadata.TryGetValue(TraceContext.TraceParent, out string? value) && TraceContext.TryParse(value, out ActivityContext carried) ? carried : default;
        Activity? span = Source.StartActivity("assistant route", ActivityKind.Consumer, parent);
        span?.SetTag("alicia.assistant.from", from);
        return span;
    }

    /// <summary>The route's outcome on its span.</summary>
    public static void Routed(Activity? span, VoiceCommandRoute route)
    {
        if (span is null) return;
        span.SetTag("alicia.assistant.intent", route.Intent);
        span.SetTag("alicia.assistant.outcome", route.Outcome);
        span.SetTag("alicia.assistant.source", route.Source);
    }

    /// <summary>The LLM request (a child of the route span): from the prompt sent to the last word streamed back.</summary>
    public static Activity? StartLlm(string model)
    {
        if (!Source.HasListeners()) return null;
        Activity? span = Source.StartActivity("llm request", ActivityKind.Client);
        span?.SetTag("gen_ai.request.model", model);
        return span;
    }
}
