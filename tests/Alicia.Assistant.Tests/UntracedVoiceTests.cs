using Alicia.Assistant;
using Alicia.Engine.Bus.Tracing;
using Alicia.Tools.Voice;
using Alicia.Voice.Tracing;

namespace Alicia.Assistant.Tests;

/// <summary>Alone (no other test's listener may be registered): with nobody listening no span is made, yet the transcript still carries the session's trace.</summary>
[CollectionDefinition(nameof(UntracedVoiceTests), DisableParallelization = true)]
public sealed class UntracedVoiceCollection;

[Collection(nameof(UntracedVoiceTests))]
public sealed class UntracedVoiceTests
{
    [Fact]
    public async Task Without_a_listener_no_span_is_made_and_the_transcript_still_carries_an_unsampled_trace_context()
    {
        Assert.False(VoiceTracing.Source.HasListeners());
        Assert.False(AssistantTracing.Source.HasListeners());
        await using VoiceTraceTests.SpokenHome home = await VoiceTraceTests.SpokenHome.StartAsync("", VoiceTraceTests.Command);

        (VoiceSendResult sent, string traceId) = await home.SayAsync(VoiceTraceTests.Command);

        IReadOnlyDictionary<string, string> metadata = Assert.Single(sent.Transcripts).Envelope.Metadata!;
        Assert.EndsWith("-00", metadata[TraceContext.TraceParent]); // not sampled: nothing recorded it
        Assert.Contains(traceId, metadata[TraceContext.TraceParent]);
        Assert.False(metadata.ContainsKey(VoiceTracing.SpansRecorded)); // so monitoring would rebuild the stages from the timings
        Assert.Equal(ReplyEndStatusSpoken, Assert.Single(sent.Replies.All).Status?.ToString());
    }

    private const string ReplyEndStatusSpoken = "Spoken";
}
