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
    public async Task A_withdrawn_speculation_is_aborted_whether_it_waits_or_runs()
    {
        var stt = new SttPoolTests.GatedStt();
        await using var pool = new SpeechToTextPool(stt, new SttPoolOptions { MaxWait = TimeSpan.FromSeconds(30) });
        using var startedCancel = new CancellationTokenSource();
        using var waitingCancel = new CancellationTokenSource();
        SttTicket started = pool.Submit(new float[16], new SttOptions { Language = "started" }, SttPriority.Speculative, startedCancel.Token);
        await stt.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        SttTicket waiting = pool.Submit(new float[16], new SttOptions { Language = "waiting" }, SttPriority.Speculative, waitingCancel.Token);

        // The waiting one first: once the running one stops, its slot would take the next in the queue.
        await waitingCancel.CancelAsync();
        await startedCancel.CancelAsync();
        // The engine keeps its state when aborted (SttTests), so a withdrawn speculation stops at once and frees its core.
        Assert.Equal(SttOutcomeKind.Cancelled, (await started.Outcome.WaitAsync(TimeSpan.FromSeconds(10))).Kind);
        Assert.Equal(SttOutcomeKind.Cancelled, (await waiting.Outcome.WaitAsync(TimeSpan.FromSeconds(10))).Kind);
        Assert.Equal(["started"], stt.Order);
        Assert.Equal(0, pool.BusyCount);
    }
}

/// <summary>
/// Speculation yields to real work: the load is the pool's own real transcriptions, driven by a fake engine whose
/// calls the test starts and ends one by one (a fake clock for the pool's timers; no sleeps).
/// </summary>
public sealed class SpeculationYieldTests
{
    /// <summary>A fake engine: each call waits until the test ends it (or it is aborted), and says so.</summary>
    private sealed class SteppedStt(int concurrency) : ISpeechToText
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource> _running = new();
        public readonly System.Threading.Channels.Channel<string> Events = System.Threading.Channels.Channel.CreateUnbounded<string>();
        public string Name => "stepped";
        public IReadOnlyCollection<string> Languages => [];
        public int MaxConcurrency => concurrency;

        public async Task<SttResult> TranscribeAsync(ReadOnlyMemory<float> audio, SttOptions options, CancellationToken cancellationToken)
        {
            var end = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _running[options.Language] = end;
            Events.Writer.TryWrite("start " + options.Language);
            try { await end.Task.WaitAsync(cancellationToken); }
            catch (OperationCanceledException)
            {
                Events.Writer.TryWrite("abort " + options.Language);
                throw;
            }
            return new SttResult { Text = options.Language, Confidence = 0.9, Tokens = 1 };
        }

        public void End(string language) => _running[language].SetResult();

        public async Task<string> NextAsync() => await Events.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        public ValueTask DisposeAsync() => default;
    }

    private static SpeechToTextPool Pool(ISpeechToText stt, bool besideRealWork = false) =>
        new(stt, new SttPoolOptions { MaxWait = TimeSpan.FromSeconds(30), SpeculateBesideRealWork = besideRealWork }, new Microsoft.Extensions.Time.Testing.FakeTimeProvider());

    private static SttOptions Named(string name) => new() { Language = name };

    [Fact]
    public async Task A_speculation_waits_while_real_work_runs_even_with_a_free_slot_and_starts_when_it_ends()
    {
        var stt = new SteppedStt(concurrency: 2);
        await using SpeechToTextPool pool = Pool(stt);
        Task<SttOutcome> real = pool.SubmitAsync(new float[16], Named("real"), SttPriority.Command);
        Assert.Equal("start real", await stt.NextAsync());
        SttTicket speculation = pool.Submit(new float[16], Named("speculation"), SttPriority.Speculative);
        // The queue is served in order: anything submitted after the speculation starting first proves it was held back.
        Task<SttOutcome> second = pool.SubmitAsync(new float[16], Named("second"), SttPriority.Normal);
        Assert.Equal("start second", await stt.NextAsync());
        Assert.False(speculation.Started);
        Assert.Equal(1, pool.Queued);

        stt.End("real");
        Assert.Equal(SttOutcomeKind.Transcribed, (await real).Kind);
        Assert.False(speculation.Started); // "second" still runs
        stt.End("second");
        await second;
        Assert.Equal("start speculation", await stt.NextAsync());
        stt.End("speculation");
        Assert.Equal("speculation", (await speculation.Outcome.WaitAsync(TimeSpan.FromSeconds(10))).Result!.Text);
    }

    [Fact]
    public async Task With_speculation_beside_real_work_allowed_it_takes_the_free_slot()
    {
        var stt = new SteppedStt(concurrency: 2);
        await using SpeechToTextPool pool = Pool(stt, besideRealWork: true);
        Task<SttOutcome> real = pool.SubmitAsync(new float[16], Named("real"), SttPriority.Command);
        Assert.Equal("start real", await stt.NextAsync());
        SttTicket speculation = pool.Submit(new float[16], Named("speculation"), SttPriority.Speculative);
        Assert.Equal("start speculation", await stt.NextAsync());
        stt.End("real");
        stt.End("speculation");
        await Task.WhenAll(real, speculation.Outcome).WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_running_speculation_yields_its_slot_to_real_work_then_runs_again()
    {
        var stt = new SteppedStt(concurrency: 1);
        await using SpeechToTextPool pool = Pool(stt);
        SttTicket speculation = pool.Submit(new float[16], Named("speculation"), SttPriority.Speculative);
        Assert.Equal("start speculation", await stt.NextAsync());

        Task<SttOutcome> real = pool.SubmitAsync(new float[16], Named("real"), SttPriority.Command);
        Assert.Equal("abort speculation", await stt.NextAsync());
        Assert.Equal("start real", await stt.NextAsync());
        Assert.False(speculation.Started);
        Assert.Equal(1, pool.YieldedCount);

        stt.End("real");
        Assert.Equal(SttOutcomeKind.Transcribed, (await real).Kind);
        Assert.Equal("start speculation", await stt.NextAsync());
        stt.End("speculation");
        SttOutcome outcome = await speculation.Outcome.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(SttOutcomeKind.Transcribed, outcome.Kind);
        Assert.Equal(0, pool.BusyCount);
    }

    [Fact]
    public async Task A_running_speculation_promoted_to_real_work_no_longer_yields()
    {
        var stt = new SteppedStt(concurrency: 1);
        await using SpeechToTextPool pool = Pool(stt);
        SttTicket speculation = pool.Submit(new float[16], Named("speculation"), SttPriority.Speculative);
        Assert.Equal("start speculation", await stt.NextAsync());
        Assert.True(speculation.TryPromote(SttPriority.Command)); // its utterance ended: it is the real transcription now

        Task<SttOutcome> other = pool.SubmitAsync(new float[16], Named("other"), SttPriority.Command);
        stt.End("speculation");
        Assert.Equal(SttOutcomeKind.Transcribed, (await speculation.Outcome.WaitAsync(TimeSpan.FromSeconds(10))).Kind);
        Assert.Equal("start other", await stt.NextAsync()); // no abort in between
        stt.End("other");
        await other;
        Assert.Equal(0, pool.YieldedCount);
    }

    [Fact]
    public async Task A_waiting_speculation_promoted_while_real_work_runs_starts_in_its_turn()
    {
        var stt = new SteppedStt(concurrency: 2);
        await using SpeechToTextPool pool = Pool(stt);
        Task<SttOutcome> real = pool.SubmitAsync(new float[16], Named("real"), SttPriority.Command);
        Assert.Equal("start real", await stt.NextAsync());
        SttTicket speculation = pool.Submit(new float[16], Named("speculation"), SttPriority.Speculative);
        Assert.False(speculation.Started); // held back beside real work
        Assert.True(speculation.TryPromote(SttPriority.Command));
        Assert.Equal("start speculation", await stt.NextAsync()); // real now: takes the free slot at once
        stt.End("speculation");
        stt.End("real");
        await Task.WhenAll(real, speculation.Outcome).WaitAsync(TimeSpan.FromSeconds(10));
    }
}
