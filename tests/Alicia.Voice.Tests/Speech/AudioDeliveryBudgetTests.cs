using Alicia.Contracts.Messages;
using Alicia.Engine.Monitoring;
using Alicia.Voice.Speech;
using Alicia.Voice.Speech.Espeak;
using Alicia.Voice.Speech.Output;
using Alicia.Voice.Speakers;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alicia.Voice.Tests.Speech;

public sealed class AudioDeliveryBudgetTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_replys_first_audio_is_timed_from_its_start_and_over_a_tiny_budget_names_synthesis_or_send()
    {
        var speaker = new RecordingOutput("hall speaker");
        await using var output = new SpeechOutput(new SpeechVoices([new EspeakSynthesizer()], new PhraseCache(4), NullLogger.Instance), new SpeechOptions(),
            new SatelliteConnections(), new SpeakerDirectory([new RoomSpeaker("hall", "a", speaker)]), TimeProvider.System, NullLogger.Instance);
        // An artificially tiny budget: any real synthesis breaches it (no wall-clock assert).
        var budgets = new LatencyBudgetMonitor(new LatencyBudgets { AudioDeliveryMs = 1e-6 });
        var breached = new TaskCompletionSource<BudgetExceeded>(TaskCreationOptions.RunContinuationsAsynchronously);
        int firstAudio = 0;
        output.FirstAudio += p =>
        {
            Interlocked.Increment(ref firstAudio);
            (double total, KeyValuePair<string, double>[] stages) = p.AudioDelivery();
            if (budgets.Check("audio_delivery", total, stages) is { } breach) breached.TrySetResult(breach);
        };

        Assert.Equal(1, output.Announce("The front door is open. Please close it.", "hall"));
        BudgetExceeded exceeded = await breached.Task.WaitAsync(Wait);
        (ReplyEndStatus status, _) = await speaker.Ended.Task.WaitAsync(Wait);

        Assert.Equal(ReplyEndStatus.Spoken, status);
        Assert.Equal("audio_delivery", exceeded.Budget);
        Assert.Contains(exceeded.Stage, (string[])["synthesis", "send"]);
        Assert.Equal(exceeded.ElapsedMs, exceeded.Stages["synthesis"] + exceeded.Stages["send"], 6);
        Assert.Equal(1, Volatile.Read(ref firstAudio)); // once per reply, however many chunks follow
    }
}
