using System.Diagnostics;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus.Tracing;
using Alicia.Voice.Speech.Output;

namespace Alicia.Voice.Tracing;

/// <summary>A voice session's trace: its span (null when nobody listens) and the context its messages carry either way.</summary>
internal readonly record struct SessionTrace(Activity? Span, ActivityContext Context);

/// <summary>
/// Spans of a voice request (source <c>Alicia.Voice</c>): the session from its first audio frame, each utterance with its
/// VAD endpoint, speech-to-text queue wait and decode, and each spoken reply with its synthesis, first audio chunk and
/// audio out. Stages measured by the pipeline's own stamps (Stopwatch or the reply's clock) become spans with those
/// exact start and end times, so the spans and the transcript's timings are the same measurements. With no listener
/// nothing is allocated per frame or chunk: only a trace id per session, so the messages still carry one.
/// </summary>
internal static class VoiceTracing
{
    public const string SourceName = "Alicia.Voice";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>The session's span (a root: the session is where a voice request starts); Activity.Current is left as it was.</summary>
    public static SessionTrace StartSession(string sessionId, string deviceId, VoiceSessionKind kind)
    {
        if (!Source.HasListeners()) return new SessionTrace(null, new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None));
        Activity? previous = Activity.Current;
        Activity? span = Source.StartActivity("voice session", ActivityKind.Server, parentContext: default);
        Activity.Current = previous; // the span is the session's parent, not the ambient of whoever opened it
        if (span is null) return new SessionTrace(null, new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None));
        span.SetTag("alicia.voice.session", sessionId);
        span.SetTag("alicia.voice.device", deviceId);
        span.SetTag("alicia.voice.kind", kind.ToString());
        return new SessionTrace(span, span.Context);
    }

    public static void EndSession(SessionTrace trace, int utterances)
    {
        if (trace.Span is not { } span) return;
        span.SetTag("alicia.voice.utterances", utterances);
        Activity? ambient = Activity.Current;
        span.Dispose();
        Activity.Current = ambient; // Stop would restore what was current when the session opened, elsewhere
    }

    /// <summary>
    /// The utterance's span (made Activity.Current, so the transcript's publish joins it) with its stages as children:
    /// <c>vad endpoint</c> (speech end arrived → end decided), <c>stt queue</c> (submitted → decode started) and
    /// <c>stt decode</c>. <paramref name="submittedTicks"/> is when the audio went to speech to text (a speculation's
    /// submission, or the endpoint). Null when nobody listens.
    /// </summary>
    public static Activity? StartUtterance(in SessionTrace session, Utterance utterance, long submittedTicks, double queueMs, double sttMs, string status)
    {
        if (session.Span is null || !Source.HasListeners()) return null;
        long nowTicks = Stopwatch.GetTimestamp();
        DateTime now = DateTime.UtcNow;
        DateTime At(long ticks) => now - Stopwatch.GetElapsedTime(ticks, nowTicks);

        DateTime speechEnd = At(utterance.SpeechEndArrivedTicks), endpoint = At(utterance.EndpointTicks), submitted = At(submittedTicks);
        DateTime start = submitted < speechEnd ? submitted : speechEnd;
        Activity? span = Source.StartActivity("voice utterance", ActivityKind.Internal, session.Context, startTime: start);
        if (span is null) return null;
        span.SetTag("alicia.voice.utterance", utterance.Index);
        span.SetTag("alicia.voice.status", status);
        span.SetTag("alicia.voice.speech_ms", utterance.DurationSeconds * 1000);
        Child(span, "vad endpoint", speechEnd, endpoint);
        DateTime decodeStart = submitted + TimeSpan.FromMilliseconds(queueMs);
        Child(span, "stt queue", submitted, decodeStart);
        Child(span, "stt decode", decodeStart, decodeStart + TimeSpan.FromMilliseconds(sttMs));
        return span;
    }

    /// <summary>Says, in a transcript's metadata, that its stages were recorded as spans (monitoring then rebuilds none).</summary>
    public const string SpansRecorded = "voice_spans";

    /// <summary>Puts the trace context in a message's metadata, so the services that handle it join the trace even when this one records nothing.</summary>
    public static void Carry(Dictionary<string, string> metadata, Activity? span, in SessionTrace session)
    {
        metadata[TraceContext.TraceParent] = TraceContext.Format(span?.Context ?? session.Context);
        if (span is { Recorded: true }) metadata[SpansRecorded] = "1";
    }

    /// <summary>The trace a received message carries (default when nobody listens: then it is not even parsed).</summary>
    public static ActivityContext ParentOf(IReadOnlyDictionary<string, string>? metadata) =>
        Source.HasListeners() && metadata is not null && metadata.TryGetValue(TraceContext.TraceParent, out string? value) && TraceContext.TryParse(value, out ActivityContext parent)
            ? parent : default;

    /// <summary>A spoken reply's span, a child of the trace its first piece carried; Activity.Current is left as it was.</summary>
    public static Activity? StartReply(ActivityContext parent, string replyId, string sessionId, string deviceId, string room)
    {
        if (!Source.HasListeners()) return null;
        Activity? previous = Activity.Current;
        Activity? span = Source.StartActivity("voice reply", ActivityKind.Internal, parent);
        Activity.Current = previous;
        span?.SetTag("alicia.voice.reply", replyId);
        span?.SetTag("alicia.voice.session", sessionId);
        span?.SetTag("alicia.voice.device", deviceId);
        span?.SetTag("alicia.voice.room", room);
        return span;
    }

    /// <summary>
    /// Ends a reply's span with its stages from the playback's stamps: <c>voice synthesis</c> (reply start → first audio
    /// synthesised), <c>voice first audio</c> (→ first chunk handed to the output) and <c>voice audio out</c> (→ the end).
    /// </summary>
    public static void EndReply(Activity? span, ReplyPlayback playback, ReplyEndStatus status, TimeProvider clock)
    {
        if (span is null) return;
        long nowTicks = clock.GetTimestamp();
        DateTime now = clock.GetUtcNow().UtcDateTime;
        DateTime At(long ticks) => now - clock.GetElapsedTime(ticks, nowTicks);
        span.SetTag("alicia.voice.output", playback.Output.Description);
        span.SetTag("alicia.voice.reply_status", status.ToString());
        span.SetTag("alicia.voice.chunks", playback.ChunksWritten);
        if (playback.FirstSynthesisTicks != 0)
        {
            Child(span, "voice synthesis", At(playback.StartedTicks), At(playback.FirstSynthesisTicks));
            if (playback.FirstAudioTicks != 0)
            {
                Child(span, "voice first audio", At(playback.FirstSynthesisTicks), At(playback.FirstAudioTicks));
                Child(span, "voice audio out", At(playback.FirstAudioTicks), now);
            }
        }
        if (status != ReplyEndStatus.Spoken) span.SetStatus(ActivityStatusCode.Error, status.ToString());
        span.SetEndTime(now);
        Activity? ambient = Activity.Current;
        span.Dispose();
        Activity.Current = ambient;
    }

    /// <summary>Synthesis for a <c>TtsRequest</c> (the whole text to audio), a child of the request's trace.</summary>
    public static Activity? StartSynthesis(IReadOnlyDictionary<string, string>? metadata, int characters)
    {
        if (!Source.HasListeners()) return null;
        Activity? span = Source.StartActivity("voice synthesis", ActivityKind.Server, ParentOf(metadata));
        span?.SetTag("alicia.voice.characters", characters);
        return span;
    }

    private static void Child(Activity parent, string name, DateTime start, DateTime end)
    {
        Activity? span = Source.StartActivity(name, ActivityKind.Internal, parent.Context, startTime: start);
        if (span is null) return;
        span.SetEndTime(end < start ? start : end);
        span.Dispose(); // Stop puts back the ambient span it found
    }
}
