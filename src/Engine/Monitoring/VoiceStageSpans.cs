using System.Diagnostics;

namespace Alicia.Engine.Monitoring;

/// <summary>
/// A voice request's stages as spans (source <c>Alicia.Voice.Stages</c>), rebuilt from the timings its transcript carries
/// and joined to the trace its envelope carried: a request span with one child per stage, laid end to end before the
/// transcript arrived. Nothing is made without a listener.
/// </summary>
internal static class VoiceStageSpans
{
    public static readonly ActivitySource Source = new("Alicia.Voice.Stages");

    public static void Record(VoiceTrace trace, DateTimeOffset end, string? traceParent)
    {
        if (!Source.HasListeners()) return;
        Bus.Tracing.TraceContext.TryParse(traceParent, out ActivityContext parent);
        DateTimeOffset start = end - TimeSpan.FromMilliseconds(trace.TotalMs);
        using Activity? request = Source.StartActivity("voice request", ActivityKind.Internal, parent, startTime: start);
        if (request is null) return;
        request.SetTag("alicia.voice.session", trace.SessionId);
        request.SetTag("alicia.voice.device", trace.DeviceId);
        request.SetTag("alicia.voice.status", trace.Status);
        DateTimeOffset at = start;
        foreach ((string stage, double ms) in trace.Stages)
        {
            using Activity? span = Source.StartActivity(stage, ActivityKind.Internal, request.Context, startTime: at);
            at += TimeSpan.FromMilliseconds(ms);
            span?.SetEndTime(at.UtcDateTime);
        }
        request.SetEndTime(end.UtcDateTime);
    }
}
