using System.Threading.Channels;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security.Gateway;
using Alicia.Voice.Arbitration;
using Alicia.Voice.Speakers;
using Alicia.Voice.Speech;
using Alicia.Voice.Speech.Espeak;
using Alicia.Voice.Speech.Output;
using Alicia.Voice.Tests.Speech;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Alicia.Voice.Tests.Arbitration;

/// <summary>
/// Wake-word arbitration over the real embedded broker: satellites publish detections, the arbiter (its window on a
/// fake clock, moved by the test) picks one per room and round, and a wake word stops the speech of its room.
/// </summary>
public sealed class WakeWordArbitrationTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(100);

    /// <summary>An engine with the arbiter, a listener for its decisions, and a way to wait until N detections are in.</summary>
    private sealed class Rig : IAsyncDisposable
    {
        private readonly List<IAsyncDisposable> _owned = [];
        private int _received;
        private readonly Channel<int> _receivedSignal = Channel.CreateUnbounded<int>();

        public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);
        public WakeWordArbiter Arbiter { get; }
        public TestEngine Test { get; private set; } = null!;
        public Channel<WakeWordDecision> Decisions { get; } = Channel.CreateUnbounded<WakeWordDecision>();

        private Rig()
        {
            Arbiter = new WakeWordArbiter(Window, Clock);
            Arbiter.Received += _ => _receivedSignal.Writer.TryWrite(Interlocked.Increment(ref _received));
        }

        public static async Task<Rig> StartAsync()
        {
            var rig = new Rig();
            rig.Test = await TestEngine.StartAsync(services: e => e.AddService(rig.Arbiter));
            AliciaBus listener = await rig.Test.ClientAsync("kitchen-display");
            rig._owned.Add(listener);
            rig._owned.Add(await listener.SubscribeAsync<WakeWordDecision>((m, _) => { rig.Decisions.Writer.TryWrite(m.Data); return default; }));
            return rig;
        }

        public async Task<AliciaBus> SatelliteAsync(string name)
        {
            AliciaBus bus = await Test.ClientAsync(name);
            _owned.Add(bus);
            return bus;
        }

        public async Task UntilReceivedAsync(int count)
        {
            while (Volatile.Read(ref _received) < count) await _receivedSignal.Reader.ReadAsync().AsTask().WaitAsync(Wait);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (IAsyncDisposable d in Enumerable.Reverse(_owned)) await d.DisposeAsync();
            await Test.DisposeAsync();
        }
    }

    private static WakeWordDetection Heard(string device, string room, double score, double level) =>
        new() { DeviceId = device, Room = room, WakeWord = "alicia", Score = score, Level = level };

    [Fact]
    public async Task Three_satellites_of_a_room_within_the_window_give_one_winner_and_two_stand_downs()
    {
        await using Rig rig = await Rig.StartAsync();
        AliciaBus a = await rig.SatelliteAsync("kitchen-sat-a"), b = await rig.SatelliteAsync("kitchen-sat-b"), c = await rig.SatelliteAsync("kitchen-sat-c");
        AliciaBus hall = await rig.SatelliteAsync("hall-sat");

        await a.PublishAsync(Heard("kitchen-sat-a", "kitchen", 0.80, -20));
        await b.PublishAsync(Heard("kitchen-sat-b", "kitchen", 0.93, -31));
        await c.PublishAsync(Heard("kitchen-sat-c", "Kitchen", 0.93, -24)); // same score as b, louder; room name in another case
        await hall.PublishAsync(Heard("hall-sat", "hall", 0.40, -40));   // another room: a round of its own
        await rig.UntilReceivedAsync(4);
        rig.Clock.Advance(Window - TimeSpan.FromMilliseconds(1));
        Assert.False(rig.Decisions.Reader.TryRead(out _)); // the timers fire inside Advance: none has yet

        rig.Clock.Advance(TimeSpan.FromMilliseconds(1));
        WakeWordDecision first = await rig.Decisions.Reader.ReadAsync().AsTask().WaitAsync(Wait);
        WakeWordDecision second = await rig.Decisions.Reader.ReadAsync().AsTask().WaitAsync(Wait);
        WakeWordDecision kitchen = new[] { first, second }.Single(d => d.Room.Equals("kitchen", StringComparison.OrdinalIgnoreCase));
        WakeWordDecision hallDecision = new[] { first, second }.Single(d => d.Room == "hall");

        Assert.Equal("kitchen-sat-c", kitchen.Winner);
        Assert.Equal(["kitchen-sat-a", "kitchen-sat-b"], kitchen.StandDown.Order(StringComparer.Ordinal));
        Assert.Equal("alicia", kitchen.WakeWord);
        Assert.Equal("hall-sat", hallDecision.Winner);
        Assert.Empty(hallDecision.StandDown);
        Assert.NotEqual(kitchen.RoundId, hallDecision.RoundId);
    }

    [Fact]
    public async Task On_equal_score_and_level_the_earliest_detection_wins()
    {
        await using Rig rig = await Rig.StartAsync();
        AliciaBus a = await rig.SatelliteAsync("kitchen-sat-a"), b = await rig.SatelliteAsync("kitchen-sat-b");

        await a.PublishAsync(Heard("kitchen-sat-a", "kitchen", 0.9, -20));
        await rig.UntilReceivedAsync(1);
        await b.PublishAsync(Heard("kitchen-sat-b", "kitchen", 0.9, -20));
        await rig.UntilReceivedAsync(2);
        rig.Clock.Advance(Window);

        WakeWordDecision decision = await rig.Decisions.Reader.ReadAsync().AsTask().WaitAsync(Wait);
        Assert.Equal("kitchen-sat-a", decision.Winner);
        Assert.Equal(["kitchen-sat-b"], decision.StandDown);
    }

    [Fact]
    public async Task Detections_outside_the_window_are_separate_rounds()
    {
        await using Rig rig = await Rig.StartAsync();
        AliciaBus a = await rig.SatelliteAsync("kitchen-sat-a"), b = await rig.SatelliteAsync("kitchen-sat-b");

        await a.PublishAsync(Heard("kitchen-sat-a", "kitchen", 0.6, -30));
        await rig.UntilReceivedAsync(1);
        rig.Clock.Advance(Window);
        WakeWordDecision first = await rig.Decisions.Reader.ReadAsync().AsTask().WaitAsync(Wait);

        // b hears it louder and surer, but after a's round closed: a round of its own, a keeps its own win.
        await b.PublishAsync(Heard("kitchen-sat-b", "kitchen", 0.99, -10));
        await rig.UntilReceivedAsync(2);
        rig.Clock.Advance(Window);
        WakeWordDecision second = await rig.Decisions.Reader.ReadAsync().AsTask().WaitAsync(Wait);

        Assert.Equal("kitchen-sat-a", first.Winner);
        Assert.Empty(first.StandDown);
        Assert.Equal("kitchen-sat-b", second.Winner);
        Assert.Empty(second.StandDown);
        Assert.NotEqual(first.RoundId, second.RoundId);
    }

    [Fact]
    public async Task A_wake_word_stops_the_reply_spoken_in_its_room_and_not_in_another_room()
    {
        await using Rig rig = await Rig.StartAsync();
        // Outputs paced in real time (a 100 ms lead), so a long announcement is still playing when the wake word comes.
        var kitchen = new RecordingOutput("kitchen speaker", lead: TimeSpan.FromMilliseconds(100));
        var living = new RecordingOutput("living room speaker", lead: TimeSpan.FromMilliseconds(100));
        var speakers = new SpeakerDirectory([new RoomSpeaker("kitchen", "k", kitchen), new RoomSpeaker("living room", "l", living)]);
        await using var output = new SpeechOutput(new SpeechVoices([new EspeakSynthesizer()], new PhraseCache(4), NullLogger.Instance), new SpeechOptions(),
            new SatelliteConnections(), speakers, TimeProvider.System, NullLogger.Instance);
        await output.StartAsync(rig.Test.Engine.Bus, CancellationToken.None);
        string longText = string.Join(" ", Enumerable.Repeat("This announcement goes on for a long while.", 5));
        Assert.Equal(2, output.Announce(longText, ""));
        await Task.WhenAll(kitchen.FirstAudio.Task, living.FirstAudio.Task).WaitAsync(Wait);

        AliciaBus satellite = await rig.SatelliteAsync("kitchen-sat-a");
        await satellite.PublishAsync(Heard("kitchen-sat-a", "kitchen", 0.9, -20));

        // The interrupt goes out on the first detection, before the window closes (the clock is not moved).
        Assert.Equal(ReplyEndStatus.Stopped, (await kitchen.Ended.Task.WaitAsync(Wait)).Status);
        Assert.False(living.Ended.Task.IsCompleted);
        Assert.Contains(output.Active, p => p.Room == "living room" && !p.IsStopped);
        output.Interrupt("", "", "living room");
    }

    [Fact]
    public void The_voice_role_may_publish_detections_and_read_decisions()
    {
        var satellite = new IdentityRecord("kitchen-sat-a", IdentityKind.Service, ["voice"], []);
        Assert.True(AclPolicy.AuthorizePublish(satellite, "alicia/voice/wake/detection").Allowed);
        Assert.True(AclPolicy.MayRead(satellite, "alicia/voice/wake/decision"));
        var sensor = new IdentityRecord("kitchen-sensor", IdentityKind.Sensor, [], []);
        Assert.False(AclPolicy.AuthorizePublish(sensor, "alicia/voice/wake/detection").Allowed); // only satellites report wake words
    }

    [Fact]
    public void AddVoice_adds_the_arbiter_and_refuses_a_window_out_of_range()
    {
        var services = new ServiceCollection();
        services.AddAlicia().AddVoice(v => v.WakeArbitrationWindowMs = 250);
        Assert.Contains(services, d => d.ServiceType == typeof(WakeWordArbiter));

        Assert.Empty(VoiceSettingsValidator.Failures(new VoiceSettings()));
        Assert.Contains(VoiceSettingsValidator.Failures(new VoiceSettings { WakeArbitrationWindowMs = 0 }), f => f.Contains("WakeArbitrationWindowMs", StringComparison.Ordinal));
        Assert.Contains(VoiceSettingsValidator.Failures(new VoiceSettings { WakeArbitrationWindowMs = 60000 }), f => f.Contains("WakeArbitrationWindowMs", StringComparison.Ordinal));
    }
}
