using Alicia.Voice;
using Alicia.Voice.Audio;
using Alicia.Voice.Stt;
using Alicia.Voice.Vad;

namespace Alicia.Voice.Tests;

/// <summary>
/// Speculative speech to text: the pipeline hands the utterance on as soon as a pause may end it, withdraws
/// it when speech resumes, and the pool runs speculations only on idle capacity.
/// </summary>
public sealed class SpeculationTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private sealed class RecordingSink : IVoicePipelineSink
    {
        public readonly List<string> Events = [];
        public readonly List<TentativeUtterance> Tentatives = [];
        public readonly List<Utterance> Utterances = [];

        public void OnSpeechStarted(int index, double startSeconds) => Events.Add("start");

        public void OnTentativeEnd(TentativeUtterance tentative)
        {
            Events.Add("tentative");
            Tentatives.Add(tentative);
        }

        public void OnSpeechResumed(int index) => Events.Add("resumed");

        public void OnUtterance(Utterance utterance)
        {
            Events.Add("utterance");
            Utterances.Add(utterance);
        }
    }

    private static RecordingSink Run(float[] samples, EndpointerOptions options)
    {
        var sink = new RecordingSink();
        using var pipeline = new VoicePipeline(TestAudio.Vad.CreateStream(), new PcmConverter(16000, 1), sink, options);
        pipeline.Write(TestAudio.ToPcm(samples));
        pipeline.Complete();
        return sink;
    }

    // espeak-ng's own lead-in and tail make a pause of ~0.2-0.3 s between the two phrases.
    private static float[] CommandWithPause() => TestAudio.Concat(
        TestAudio.Silence(0.5), TestAudio.Speech("turn on the kitchen light").ToMono16k(), TestAudio.Speech("please").ToMono16k(), TestAudio.Silence(0.8));

    [Fact]
    public void A_pause_shorter_than_the_hangover_withdraws_the_speculation_and_the_last_one_is_the_utterance()
    {
        RecordingSink sink = Run(CommandWithPause(), new EndpointerOptions { Hangover = TimeSpan.FromMilliseconds(500), SpeculateAfter = TimeSpan.Zero });

        Utterance utterance = Assert.Single(sink.Utterances);
        output.WriteLine(string.Join(" ", sink.Events));
        Assert.Contains("resumed", sink.Events); // the 200 ms pause between the phrases
        Assert.Equal(sink.Events.Count(e => e == "resumed") + 1, sink.Tentatives.Count);
        Assert.Equal("tentative", sink.Events[^2]); // the final pause, then the end
        TentativeUtterance last = sink.Tentatives[^1];
        Assert.Equal(utterance.Index, last.Index);
        Assert.Equal(utterance.StartSample, last.StartSample);
        Assert.Equal(utterance.EndSample, last.EndSample);
        Assert.Equal(utterance.Samples, last.Samples); // the same audio, so the same transcript
        Assert.True(last.SilenceArrivedTicks <= utterance.EndpointTicks);
    }

    [Fact]
    public void Speculation_waits_for_the_configured_silence_and_can_be_turned_off()
    {
        float[] samples = CommandWithPause();
        var hangover = TimeSpan.FromMilliseconds(500);
        RecordingSink eager = Run(samples, new EndpointerOptions { Hangover = hangover, SpeculateAfter = TimeSpan.Zero });
        RecordingSink patient = Run(samples, new EndpointerOptions { Hangover = hangover, SpeculateAfter = TimeSpan.FromMilliseconds(450) });
        RecordingSink off = Run(samples, new EndpointerOptions { Hangover = hangover, SpeculateAfter = null });

        Assert.Empty(off.Tentatives);
        Assert.Single(off.Utterances);
        // Waiting 450 ms of the 500 ms hangover skips the short pauses (no resumes) but still speculates once.
        TentativeUtterance only = Assert.Single(patient.Tentatives);
        Assert.DoesNotContain("resumed", patient.Events);
        Assert.Equal(patient.Utterances[0].Samples, only.Samples);
        Assert.True(eager.Tentatives.Count > patient.Tentatives.Count);
    }

    [Fact]
    public void Listening_allocates_nothing_per_frame_with_speculation_on()
    {
        var sink = new RecordingSink();
        using var pipeline = new VoicePipeline(TestAudio.Vad.CreateStream(), new PcmConverter(16000, 1), sink, new EndpointerOptions { SpeculateAfter = TimeSpan.Zero });
        byte[] quiet = TestAudio.ToPcm(TestAudio.Concat(TestAudio.Silence(1), TestAudio.WhiteNoise(1, 0.05f)));
        byte[] chunk = new byte[640]; // 20 ms, as satellites send
        for (int i = 0; i + chunk.Length <= quiet.Length; i += chunk.Length) pipeline.Write(quiet.AsSpan(i, chunk.Length)); // warm up

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int round = 0; round < 3; round++)
            for (int i = 0; i + chunk.Length <= quiet.Length; i += chunk.Length) pipeline.Write(quiet.AsSpan(i, chunk.Length));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        output.WriteLine($"{allocated} bytes over {3 * quiet.Length / 1024} frames of 512 samples");
        Assert.Equal(0, allocated);
        Assert.Empty(sink.Events); // nothing to report: no speech
    }

    [Fact]
    public async Task Speculations_run_after_real_work_and_a_promoted_one_goes_first()
    {
        var stt = new SttPoolTests.GatedStt();
        await using var pool = new SpeechToTextPool(stt, new SttPoolOptions { MaxWait = TimeSpan.FromSeconds(30) });
        Task<SttOutcome> running = pool.SubmitAsync(new float[16], new SttOptions { Language = "running" }, SttPriority.Normal);
        await stt.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        SttTicket speculation = pool.Submit(new float[16], new SttOptions { Language = "speculation" }, SttPriority.Speculative);
        SttTicket promoted = pool.Submit(new float[16], new SttOptions { Language = "promoted" }, SttPriority.Speculative);
        Task<SttOutcome> normal = pool.SubmitAsync(new float[16], new SttOptions { Language = "normal" }, SttPriority.Normal);
        Assert.False(promoted.Started);
        Assert.True(promoted.TryPromote(SttPriority.Command));
        stt.Gate.SetResult();
        await Task.WhenAll(running, normal, speculation.Outcome, promoted.Outcome).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["running", "promoted", "normal", "speculation"], stt.Order);
        Assert.True(promoted.Started);
        Assert.False(promoted.TryPromote(SttPriority.Command)); // done: nothing to move
    }

    [Fact]
    public async Task A_started_speculation_runs_to_its_end_but_a_waiting_one_is_withdrawn()
    {
        var stt = new SttPoolTests.GatedStt();
        await using var pool = new SpeechToTextPool(stt, new SttPoolOptions { MaxWait = TimeSpan.FromSeconds(30) });
        using var startedCancel = new CancellationTokenSource();
        using var waitingCancel = new CancellationTokenSource();
        SttTicket started = pool.Submit(new float[16], new SttOptions { Language = "started" }, SttPriority.Speculative, startedCancel.Token);
        await stt.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        SttTicket waiting = pool.Submit(new float[16], new SttOptions { Language = "waiting" }, SttPriority.Speculative, waitingCancel.Token);

        await startedCancel.CancelAsync();
        await waitingCancel.CancelAsync();
        Assert.Equal(SttOutcomeKind.Cancelled, (await waiting.Outcome.WaitAsync(TimeSpan.FromSeconds(10))).Kind);
        stt.Gate.SetResult();
        // Aborting whisper mid-run would cost its state: the started one finishes and its caller ignores it.
        Assert.Equal(SttOutcomeKind.Transcribed, (await started.Outcome.WaitAsync(TimeSpan.FromSeconds(10))).Kind);
        Assert.Equal(["started"], stt.Order);
        Assert.Equal(0, pool.BusyCount);
    }
}
