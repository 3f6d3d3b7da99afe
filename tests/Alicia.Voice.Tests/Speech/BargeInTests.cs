using Alicia.Voice.Speakers;
using Alicia.Voice.Speech;
using Alicia.Voice.Speech.Espeak;
using Alicia.Voice.Speech.Output;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alicia.Voice.Tests.Speech;

/// <summary>Barge-in by room: an interrupt stops every speech output of that room, and only of that room.</summary>
public sealed class BargeInTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task An_interrupt_for_a_room_stops_every_reply_there_and_none_elsewhere()
    {
        // Outputs paced in real time (a 100 ms lead), so a long announcement is still playing when the interrupt comes.
        var kitchenA = new RecordingOutput("kitchen speaker A", lead: TimeSpan.FromMilliseconds(100));
        var kitchenB = new RecordingOutput("kitchen speaker B", lead: TimeSpan.FromMilliseconds(100));
        var living = new RecordingOutput("living room speaker", lead: TimeSpan.FromMilliseconds(100));
        var speakers = new SpeakerDirectory([new RoomSpeaker("kitchen", "a", kitchenA), new RoomSpeaker("Kitchen", "b", kitchenB), new RoomSpeaker("living room", "c", living)]);
        await using var output = new SpeechOutput(new SpeechVoices([new EspeakSynthesizer()], new PhraseCache(4), NullLogger.Instance), new SpeechOptions(),
            new SatelliteConnections(), speakers, TimeProvider.System, NullLogger.Instance);
        string longText = string.Join(" ", Enumerable.Repeat("This announcement goes on for a long while.", 5));

        Assert.Equal(3, output.Announce(longText, ""));
        await Task.WhenAll(kitchenA.FirstAudio.Task, kitchenB.FirstAudio.Task, living.FirstAudio.Task).WaitAsync(Wait);

        Assert.Equal(2, output.Interrupt("", "", "kitchen")); // a wake word on a kitchen satellite, "stop", a button
        Assert.Equal(ReplyEndStatus.Stopped, (await kitchenA.Ended.Task.WaitAsync(Wait)).Status);
        Assert.Equal(ReplyEndStatus.Stopped, (await kitchenB.Ended.Task.WaitAsync(Wait)).Status);
        Assert.False(living.Ended.Task.IsCompleted); // the living room still speaks

        Assert.Equal(1, output.Interrupt("", "", "living room"));
        Assert.Equal(ReplyEndStatus.Stopped, (await living.Ended.Task.WaitAsync(Wait)).Status);
    }
}
