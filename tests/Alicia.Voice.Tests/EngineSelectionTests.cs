using Alicia.Tools.Voice;
using Alicia.Tools.Models;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Security;
using Alicia.Voice;
using Alicia.Voice.Stt;
using Microsoft.Extensions.Time.Testing;

namespace Alicia.Voice.Tests;

/// <summary>
/// The engine manager picks a speech-to-text engine by name, language and latency budget. The engines here
/// are in-test stand-ins that answer when released (selection is about scheduling, not recognition); the
/// Whisper end-to-end choice is in <see cref="EngineSelectionEndToEndTests"/>.
/// </summary>
public sealed class EngineSelectionTests
{
    private sealed class StandInEngine(string name, string[] languages, FakeTimeProvider? clock = null, TimeSpan work = default) : ISpeechToText
    {
        public string Name => name;
        public IReadOnlyCollection<string> Languages => languages;
        public int MaxConcurrency => 1;

        public Task<SttResult> TranscribeAsync(ReadOnlyMemory<float> audio, SttOptions options, CancellationToken cancellationToken)
        {
            clock?.Advance(work); // the pool times the call on this clock
            return Task.FromResult(new SttResult { Text = name, Engine = name });
        }

        public ValueTask DisposeAsync() => default;
    }

    private static SpeechToTextPool Pool(ISpeechToText engine, double expectedMs, TimeProvider? clock = null) =>
        new(engine, new SttPoolOptions { ExpectedLatency = TimeSpan.FromMilliseconds(expectedMs) }, clock);

    [Fact]
    public async Task The_language_picks_among_engines_in_preference_order()
    {
        await using var manager = new SttEngineManager();
        manager.Add(Pool(new StandInEngine("whisper:tiny.en", ["en"]), 100));
        manager.Add(Pool(new StandInEngine("whisper:base", []), 400));

        Assert.Equal("whisper:tiny.en", manager.Choose(new SttRequirement { Language = "en" }).Pool!.Engine.Name);
        Assert.Equal("whisper:base", manager.Choose(new SttRequirement { Language = "de" }).Pool!.Engine.Name);
        Assert.Equal("whisper:tiny.en", manager.Default!.Engine.Name);
    }

    [Fact]
    public async Task A_named_engine_is_used_or_the_refusal_says_why()
    {
        await using var manager = new SttEngineManager();
        manager.Add(Pool(new StandInEngine("whisper:tiny.en", ["en"]), 100));
        manager.Add(Pool(new StandInEngine("cloud", ["en", "fr"]), 400));

        Assert.Equal("cloud", manager.Choose(new SttRequirement { Engine = "cloud" }).Pool!.Engine.Name);
        SttChoice unknown = manager.Choose(new SttRequirement { Engine = "whisper:large" });
        Assert.Null(unknown.Pool);
        Assert.Equal("no speech-to-text engine named 'whisper:large' (engines: whisper:tiny.en [en], cloud [en fr])", unknown.Error);
        SttChoice wrongLanguage = manager.Choose(new SttRequirement { Engine = "whisper:tiny.en", Language = "fr" });
        Assert.Equal("speech-to-text engine 'whisper:tiny.en' does not serve language 'fr'", wrongLanguage.Error);
        Assert.Contains("serves language 'ja'", manager.Choose(new SttRequirement { Language = "ja" }).Error);
    }

    [Fact]
    public async Task A_latency_budget_skips_engines_expected_to_be_too_slow()
    {
        await using var manager = new SttEngineManager();
        manager.Add(Pool(new StandInEngine("accurate", []), 800));
        manager.Add(Pool(new StandInEngine("quick", []), 200));

        Assert.Equal("accurate", manager.Choose(new SttRequirement()).Pool!.Engine.Name); // no budget: preference
        Assert.Equal("accurate", manager.Choose(new SttRequirement { LatencyBudget = TimeSpan.FromSeconds(1) }).Pool!.Engine.Name);
        SttChoice fits = manager.Choose(new SttRequirement { LatencyBudget = TimeSpan.FromMilliseconds(300) });
        Assert.Equal("quick", fits.Pool!.Engine.Name);
        Assert.False(fits.OverBudget);
        SttChoice none = manager.Choose(new SttRequirement { LatencyBudget = TimeSpan.FromMilliseconds(100) });
        Assert.Equal("quick", none.Pool!.Engine.Name); // nothing fits: the quickest, flagged
        Assert.True(none.OverBudget);
    }

    [Fact]
    public async Task The_estimate_learns_from_measured_transcriptions()
    {
        var clock = new FakeTimeProvider();
        await using var manager = new SttEngineManager();
        SpeechToTextPool preferred = Pool(new StandInEngine("preferred", [], clock, TimeSpan.FromMilliseconds(900)), expectedMs: 100, clock);
        manager.Add(preferred);
        manager.Add(Pool(new StandInEngine("other", []), 300));
        var budget = new SttRequirement { LatencyBudget = TimeSpan.FromMilliseconds(500) };
        Assert.Equal("preferred", manager.Choose(budget).Pool!.Engine.Name); // expected 100 ms before any measurement

        SttOutcome outcome = await preferred.SubmitAsync(new float[16], new SttOptions(), SttPriority.Command).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(900, outcome.SttMs, 1);
        Assert.Equal(900, preferred.LatencyEstimateMs, 1);
        Assert.Equal("other", manager.Choose(budget).Pool!.Engine.Name); // measured 900 ms: over the budget now
    }
}

/// <summary>
/// Two real Whisper models in one engine: an English-only one (51864-token vocabulary, preferred) and a
/// multilingual one (51865). A session's language picks the engine; asking for what none serves is refused.
/// </summary>
public sealed class EngineSelectionEndToEndTests : IAsyncLifetime
{
    private VoiceEngineHarness _harness = null!;
    private static readonly TimeSpan Wait = VoiceEngineHarness.Wait;

    private static string MultilingualModel => RandomWhisperModel.GetOrCreate(TestAudio.ModelDirectory, WhisperDimensions.Micro with { Vocab = 51865 });

    public async Task InitializeAsync() => _harness = await VoiceEngineHarness.StartAsync(o => o with { ExtraWhisperModelPaths = [MultilingualModel] });

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public async Task The_session_language_chooses_the_engine_and_the_transcript_names_it()
    {
        SttEngineManager engines = _harness.Voice.Engines;
        Assert.Equal(2, engines.Pools.Count);
        string english = engines.Pools[0].Engine.Name, multilingual = engines.Pools[1].Engine.Name;
        Assert.Equal(["en"], engines.Pools[0].Engine.Languages);
        Assert.Empty(engines.Pools[1].Engine.Languages);

        await using AliciaBus satellite = await _harness.ClientAsync("sat");
        byte[] pcm = TestAudio.ToPcm(TestAudio.Concat(TestAudio.Silence(0.3), TestAudio.Speech("guten tag").ToMono16k(), TestAudio.Silence(0.6)));

        foreach ((string language, string expected) in new[] { ("en", english), ("de", multilingual) })
        {
            VoiceSendResult result = await VoiceClient.SendAsync(satellite, pcm, 16000, 1, new VoiceSendOptions { Language = language, Timeout = Wait });
            Assert.Null(result.Error);
            Assert.Equal(expected, result.SttEngine);
            var transcript = Assert.Single(result.Transcripts);
            Assert.Equal(expected, transcript.Envelope.Metadata!["engine"]);
            // Transcribed by that engine (random weights may say nothing, which the quality check rejects as empty).
            Assert.True(transcript.Data.Timings.ContainsKey("tokens"), transcript.Envelope.Metadata.GetValueOrDefault("reason"));
            Assert.Contains(transcript.Envelope.Metadata["status"], new[] { "ok", "rejected" });
        }

        VoiceSendResult refused = await VoiceClient.SendAsync(satellite, pcm, 16000, 1,
            new VoiceSendOptions { Language = "de", SttEngine = english, Timeout = Wait });
        Assert.Equal($"session refused: speech-to-text engine '{english}' does not serve language 'de'", refused.Error);

        // Codes are case-insensitive; a code whisper.cpp does not know is refused (it would decode garbage).
        VoiceSessionResponse upper = (await satellite.RequestAsync<VoiceSessionRequest, VoiceSessionResponse>(new VoiceSessionRequest { Language = "DE" }, "alicia-engine", timeout: Wait)).Data;
        Assert.Equal(multilingual, upper.SttEngine);
        VoiceSessionResponse unknown = (await satellite.RequestAsync<VoiceSessionRequest, VoiceSessionResponse>(new VoiceSessionRequest { Language = "xx" }, "alicia-engine", timeout: Wait)).Data;
        Assert.False(unknown.Accepted);
        Assert.StartsWith("no speech-to-text engine serves language 'xx'", unknown.Error);
    }
}
