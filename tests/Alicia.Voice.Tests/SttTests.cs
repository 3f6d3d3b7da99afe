using Alicia.Tools.Voice;
using Alicia.Tools.Models;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Alicia.Voice.Stt;
using Alicia.Voice.Stt.Whisper;
using Xunit.Abstractions;

namespace Alicia.Voice.Tests;

/// <summary>
/// Whisper through our whisper.cpp binding on random-weight ggml models (no weights can be downloaded here). The
/// transcripts are meaningless: these tests check plumbing (loading, segments, token caps, audio context,
/// cancellation), never recognition accuracy.
/// </summary>
public sealed class SttTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_micro_random_model_loads_and_transcribes_into_segments()
    {
        await using var stt = new WhisperSpeechToText(new WhisperOptions { ModelPath = TestAudio.MicroModel });
        float[] audio = TestAudio.Speech("turn on the kitchen light").ToMono16k();
        SttResult result = await stt.TranscribeAsync(audio, new SttOptions { MaxTokens = 16 }, CancellationToken.None);
        output.WriteLine($"'{result.Text}' tokens {result.Tokens} ctx {result.AudioContext} confidence {result.Confidence:0.000}");
        Assert.StartsWith("whisper:random", stt.Name);
        Assert.Equal(["en"], stt.Languages); // 51864 tokens: an English-only vocabulary
        Assert.Equal(AudioContext.ForSamples(audio.Length), result.AudioContext);
        Assert.InRange(result.Tokens, 0, 16);
        Assert.InRange(result.Confidence, 0, 1);
        Assert.All(result.Segments, s => Assert.True(s.EndSeconds >= s.StartSeconds));
    }

    [Theory]
    [InlineData(1.0, 128)]
    [InlineData(3.0, 224)]
    [InlineData(10.0, 576)]
    [InlineData(29.9, 1500)]
    public void Audio_context_follows_the_utterance_length(double seconds, int expected)
    {
        Assert.Equal(expected, AudioContext.ForSamples((int)(seconds * 16000)));
    }

    [Fact]
    public async Task A_cancelled_transcription_stops()
    {
        await using var stt = new WhisperSpeechToText(new WhisperOptions { ModelPath = TestAudio.MicroModel });
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stt.TranscribeAsync(TestAudio.Silence(1), new SttOptions(), cts.Token));
        // Still usable afterwards.
        SttResult after = await stt.TranscribeAsync(TestAudio.Silence(1), new SttOptions { MaxTokens = 2 }, CancellationToken.None);
        Assert.InRange(after.Tokens, 0, 2);
    }

    [Fact]
    public async Task Cancelling_a_running_transcription_aborts_whisper_cpp_early()
    {
        // The talkative tiny model decodes to the cap. whisper.cpp polls for cancellation after the encoder and after
        // every decoder step: the polls count the work, whatever the speed of the machine.
        string path = RandomWhisperModel.GetOrCreate(TestAudio.ModelDirectory, WhisperDimensions.TinyEn with { Talkative = true });
        await using var stt = new WhisperSpeechToText(new WhisperOptions { ModelPath = path });
        float[] audio = TestAudio.WhiteNoise(10, 0.2f);
        var options = new SttOptions { MaxTokens = 200 };
        long polls = 0;
        stt.AbortPolled = n => polls = n;
        SttResult full = await stt.TranscribeAsync(audio, options, CancellationToken.None);
        long uncancelled = polls;
        Assert.Equal(200, full.Tokens);
        Assert.True(uncancelled > full.Tokens, $"{uncancelled} polls for {full.Tokens} tokens: fewer than one per decoder step");

        // Cancelled a third of the way through that work: the poll that sees it is the last, nothing more is decoded.
        using var cts = new CancellationTokenSource();
        long cancelAt = uncancelled / 3;
        stt.AbortPolled = n =>
        {
            polls = n;
            if (n == cancelAt) cts.Cancel();
        };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stt.TranscribeAsync(audio, options, cts.Token));
        output.WriteLine($"ctx {full.AudioContext}, {full.Tokens} tokens: {uncancelled} polls in full, cancelled at poll {cancelAt}, stopped after {polls}");
        Assert.Equal(cancelAt, polls);

        // The engine goes on serving on the aborted state (no new one is built), and transcribes exactly as before:
        // whisper.cpp recomputes everything a call uses, so aborting a speculation costs nothing afterwards.
        stt.AbortPolled = null;
        SttResult after = await stt.TranscribeAsync(audio, options, CancellationToken.None);
        Assert.Equal(1, stt.StatesBuilt);
        Assert.Equal(full.Text, after.Text);
        Assert.Equal(full.Tokens, after.Tokens);
        Assert.Equal(full.Confidence, after.Confidence, 6);
    }

    [Fact]
    public async Task A_model_with_tiny_en_dimensions_loads_and_runs_with_a_reduced_audio_context()
    {
        string path = TestAudio.TinyModel;
        Assert.InRange(new FileInfo(path).Length, 70_000_000, 80_000_000); // tiny.en in f16 is ~75 MB
        await using var stt = new WhisperSpeechToText(new WhisperOptions { ModelPath = path });
        float[] audio = TestAudio.Speech("set a timer for ten minutes").ToMono16k();
        var sw = Stopwatch.StartNew();
        SttResult result = await stt.TranscribeAsync(audio, new SttOptions { MaxTokens = 8 }, CancellationToken.None);
        output.WriteLine($"tiny.en-sized, random weights: {audio.Length / 16000.0:0.00} s audio, ctx {result.AudioContext}, {result.Tokens} tokens, {sw.Elapsed.TotalMilliseconds:0} ms (first call, includes state setup)");
        Assert.InRange(result.Tokens, 0, 8);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(8)]
    [InlineData(32)]
    public async Task A_talkative_model_decodes_exactly_to_the_token_cap_the_worst_case_a_command_costs(int cap)
    {
        string path = RandomWhisperModel.GetOrCreate(TestAudio.ModelDirectory, WhisperDimensions.Micro with { Talkative = true });
        await using var stt = new WhisperSpeechToText(new WhisperOptions { ModelPath = path });
        SttResult result = await stt.TranscribeAsync(TestAudio.Speech("set a timer for ten minutes").ToMono16k(), new SttOptions { MaxTokens = cap }, CancellationToken.None);
        output.WriteLine($"{result.Tokens} tokens: {result.Text}");
        Assert.Equal(cap, result.Tokens);
    }

    [Fact]
    public async Task A_token_cap_below_two_is_refused()
    {
        await using var stt = new WhisperSpeechToText(new WhisperOptions { ModelPath = TestAudio.MicroModel });
        var e = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => stt.TranscribeAsync(TestAudio.Silence(1), new SttOptions { MaxTokens = 1 }, CancellationToken.None));
        Assert.Contains("at least 2", e.Message);
    }

    [Fact]
    public async Task Warm_up_builds_the_one_state_every_utterance_length_shares()
    {
        await using var stt = new WhisperSpeechToText(new WhisperOptions { ModelPath = TestAudio.MicroModel });
        await stt.WarmUpAsync();
        Assert.Equal(1, stt.StatesBuilt);

        // audio_ctx is a per-call parameter: a 1 s, a 3 s and a 10 s utterance run on the warm state.
        var command = new SttOptions { MaxTokens = 32 };
        foreach (double seconds in new[] { 1.0, 3.0, 10.0 })
            Assert.Equal(AudioContext.ForSamples((int)(seconds * 16000)), (await stt.TranscribeAsync(TestAudio.Tone(seconds, 300), command, CancellationToken.None)).AudioContext);
        Assert.Equal(1, stt.StatesBuilt);

        // A state serves any token cap and language: dictation reuses it too.
        await stt.TranscribeAsync(TestAudio.Tone(1, 300), new SttOptions { MaxTokens = 128 }, CancellationToken.None);
        Assert.Equal(1, stt.StatesBuilt);
    }

    [Fact]
    public async Task With_two_transcriptions_at_once_warm_up_builds_a_state_for_each()
    {
        await using var stt = new WhisperSpeechToText(new WhisperOptions { ModelPath = TestAudio.MicroModel, Threads = 1, Concurrency = 2 });
        var command = new SttOptions { MaxTokens = 32 };
        await stt.WarmUpAsync();
        Assert.Equal(2, stt.StatesBuilt);

        SttResult[] both = await Task.WhenAll(
            stt.TranscribeAsync(TestAudio.Tone(1, 300), command, CancellationToken.None),
            stt.TranscribeAsync(TestAudio.Tone(0.8, 500), command, CancellationToken.None));
        Assert.All(both, r => Assert.Equal(128, r.AudioContext));
        Assert.Equal(2, stt.StatesBuilt); // both found a warm state, and both were kept
    }

    [Fact]
    public void Missing_models_are_named()
    {
        var e = Assert.Throws<FileNotFoundException>(() => new WhisperSpeechToText(new WhisperOptions { ModelPath = "/nonexistent/ggml-tiny.en.bin" }));
        Assert.Contains("alicia models pull", e.Message);
    }
}

public sealed class SttPoolTests
{
    internal sealed class GatedStt(int concurrency = 1) : ISpeechToText
    {
        public readonly List<string> Order = [];
        public TaskCompletionSource Gate { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public string Name => "gated";
        public IReadOnlyCollection<string> Languages => [];
        public int MaxConcurrency => concurrency;

        public async Task<SttResult> TranscribeAsync(ReadOnlyMemory<float> audio, SttOptions options, CancellationToken cancellationToken)
        {
            lock (Order) Order.Add(options.Language);
            Entered.TrySetResult();
            await Gate.Task.WaitAsync(cancellationToken);
            return new SttResult { Text = options.Language, Confidence = 0.9, Tokens = 1 };
        }

        public ValueTask DisposeAsync() => default;
    }

    [Fact]
    public async Task Device_commands_are_served_before_other_work()
    {
        var stt = new GatedStt();
        await using var pool = new SpeechToTextPool(stt, new SttPoolOptions { MaxWait = TimeSpan.FromSeconds(30) });
        Task<SttOutcome> first = pool.SubmitAsync(new float[16], new SttOptions { Language = "first" }, SttPriority.Normal);
        await stt.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Task<SttOutcome> dictation = pool.SubmitAsync(new float[16], new SttOptions { Language = "dictation" }, SttPriority.Normal);
        Task<SttOutcome> command = pool.SubmitAsync(new float[16], new SttOptions { Language = "command" }, SttPriority.Command);
        stt.Gate.SetResult();
        await Task.WhenAll(first, dictation, command).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["first", "command", "dictation"], stt.Order);
        Assert.Equal(SttOutcomeKind.Transcribed, (await command).Kind);
    }

    [Fact]
    public async Task A_full_queue_answers_busy_at_once()
    {
        var stt = new GatedStt();
        await using var pool = new SpeechToTextPool(stt, new SttPoolOptions { QueueCapacity = 1, MaxWait = TimeSpan.FromSeconds(30) });
        _ = pool.SubmitAsync(new float[16], new SttOptions(), SttPriority.Normal);
        await stt.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        _ = pool.SubmitAsync(new float[16], new SttOptions(), SttPriority.Normal);
        SttOutcome busy = await pool.SubmitAsync(new float[16], new SttOptions(), SttPriority.Command);
        Assert.Equal(SttOutcomeKind.Busy, busy.Kind);
        Assert.Contains("busy", busy.Reason);
        stt.Gate.SetResult();
    }

    [Fact]
    public async Task Waiting_longer_than_the_limit_answers_busy_instead_of_stalling()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var stt = new GatedStt();
        await using var pool = new SpeechToTextPool(stt, new SttPoolOptions { MaxWait = TimeSpan.FromSeconds(2) }, clock);
        _ = pool.SubmitAsync(new float[16], new SttOptions(), SttPriority.Normal);
        await stt.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Task<SttOutcome> waiting = pool.SubmitAsync(new float[16], new SttOptions(), SttPriority.Normal);
        clock.Advance(TimeSpan.FromSeconds(2.5));
        SttOutcome outcome = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(SttOutcomeKind.Busy, outcome.Kind);
        Assert.Contains("not started within 2000 ms", outcome.Reason);
        Assert.Equal(0, pool.Queued);
        stt.Gate.SetResult();
    }

    [Theory]
    [InlineData("", 0.9, 0.0, false, "empty")]
    [InlineData("[BLANK_AUDIO]", 0.9, 0.0, false, "empty")]
    [InlineData("turn on the light", 0.2, 0.0, false, "low confidence")]
    [InlineData("turn on the light", 0.9, 0.8, false, "no speech")]
    [InlineData("turn on the light", 0.9, 0.1, true, "")]
    public void The_quality_assessor_says_why(string text, double confidence, double noSpeech, bool accepted, string reason)
    {
        QualityVerdict verdict = new QualityAssessor().Assess(new SttResult { Text = text, Confidence = confidence, NoSpeechProbability = noSpeech });
        Assert.Equal(accepted, verdict.Accepted);
        Assert.Contains(reason, verdict.Reason);
    }

    [Fact]
    public void The_confidence_floor_comes_from_the_settings_and_zero_accepts_a_random_models_transcript()
    {
        var lowConfidence = new SttResult { Text = "w8680 w8680", Confidence = 0.0, NoSpeechProbability = 0.1 };
        Assert.False(new QualityAssessor(new VoiceSettings().ToVoiceOptions().Quality).Assess(lowConfidence).Accepted);
        QualityOptions floorZero = new VoiceSettings { MinTranscriptConfidence = 0 }.ToVoiceOptions().Quality;
        Assert.Equal(0, floorZero.MinConfidence);
        Assert.True(new QualityAssessor(floorZero).Assess(lowConfidence).Accepted);
        Assert.Contains(VoiceSettingsValidator.Failures(new VoiceSettings { MinTranscriptConfidence = 1.5 }), f => f.Contains("MinTranscriptConfidence", StringComparison.Ordinal));
    }
}

/// <summary>
/// Our whisper.cpp binding passes whisper.h's parameter structs by value: a field out of place corrupts every
/// call. Sizes and offsets pin the C layout; the defaults whisper.cpp itself fills in, read back through the
/// structs, prove it is the layout of the library actually shipped (Whisper.net.Runtime 1.9.1, whisper.cpp 1.8.5).
/// </summary>
public sealed class SttNativeLayoutTests
{
    [Fact]
    public void The_parameter_structs_have_the_C_sizes_and_offsets()
    {
        Assert.Equal(48, Unsafe.SizeOf<WhisperContextParams>());
        Assert.Equal(40, (int)Marshal.OffsetOf<WhisperContextParams>(nameof(WhisperContextParams.DtwMemorySize)));
        Assert.Equal(304, Unsafe.SizeOf<WhisperFullParams>());
        Assert.Equal(56, (int)Marshal.OffsetOf<WhisperFullParams>(nameof(WhisperFullParams.AudioContext)));
        Assert.Equal(104, (int)Marshal.OffsetOf<WhisperFullParams>(nameof(WhisperFullParams.Language)));
        Assert.Equal(144, (int)Marshal.OffsetOf<WhisperFullParams>(nameof(WhisperFullParams.GreedyBestOf)));
        Assert.Equal(208, (int)Marshal.OffsetOf<WhisperFullParams>(nameof(WhisperFullParams.AbortCallback)));
        Assert.Equal(280, (int)Marshal.OffsetOf<WhisperFullParams>(nameof(WhisperFullParams.VadThreshold)));
    }

    [Fact]
    public void Whisper_cpp_defaults_read_through_the_structs_land_in_the_right_fields()
    {
        WhisperLibrary.EnsureLoaded();
        WhisperContextParams c = WhisperNative.ContextDefaultParams();
        Assert.Equal((1, 1, 0, -1, (nuint)(128 << 20)), (c.UseGpu, c.FlashAttention, c.DtwTokenTimestamps, c.DtwTopLayers, c.DtwMemorySize));

        WhisperFullParams p = WhisperNative.FullDefaultParams(WhisperNative.SamplingGreedy);
        Assert.Equal((0, 16384, 0, 0), (p.Strategy, p.MaxTextContext, p.OffsetMs, p.DurationMs));
        Assert.Equal((1, 1, 1), (p.NoContext, p.PrintProgress, p.PrintTimestamps));
        Assert.Equal((0.01f, 0.01f), (p.TimestampThreshold, p.TimestampSumThreshold));
        Assert.Equal("en", Marshal.PtrToStringUTF8(p.Language));
        Assert.Equal((1, 0), (p.SuppressBlank, p.SuppressNonSpeech));
        Assert.Equal((0f, 1f, -1f), (p.Temperature, p.MaxInitialTimestamp, p.LengthPenalty));
        Assert.Equal((0.2f, 2.4f, -1f, 0.6f), (p.TemperatureIncrement, p.EntropyThreshold, p.LogProbThreshold, p.NoSpeechThreshold));
        Assert.Equal((5, -1, -1f), (p.GreedyBestOf, p.BeamSize, p.BeamPatience));
        Assert.Equal(((nint)0, (nint)0), (p.AbortCallback, p.AbortUserData));
        Assert.Equal(100f, p.GrammarPenalty);
        Assert.Equal(((byte)0, (nint)0), (p.Vad, p.VadModelPath));
        Assert.Equal((0.5f, 250, 100, float.MaxValue, 30, 0.1f), (p.VadThreshold, p.VadMinSpeechMs, p.VadMinSilenceMs, p.VadMaxSpeechSeconds, p.VadSpeechPadMs, p.VadSamplesOverlap));
    }
}
