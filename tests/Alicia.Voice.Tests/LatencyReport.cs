using System.Collections.Concurrent;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Security;
using Alicia.Engine.Voice;
using Alicia.Engine.Voice.Audio;
using Alicia.Engine.Voice.Stt;
using Xunit.Abstractions;

namespace Alicia.Voice.Tests;

/// <summary>Opt-in: runs only with ALICIA_VOICE_BENCH=1 (it takes a minute and measures, it does not check).</summary>
public sealed class BenchFactAttribute : FactAttribute
{
    public BenchFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("ALICIA_VOICE_BENCH") != "1") Skip = "latency report: set ALICIA_VOICE_BENCH=1 to run it";
    }
}

/// <summary>
/// Per-stage latency through the whole engine with the tiny.en-sized random-weight model (compute cost
/// only; random weights say nothing about accuracy): espeak-ng commands of about 3 s, streamed faster
/// than real time, with 1 and with 10 concurrent sessions whose utterances end at staggered times.
/// </summary>
public sealed class LatencyReport(ITestOutputHelper output)
{
    [BenchFact]
    public async Task End_of_speech_to_transcript_published()
    {
        string keys = Path.Combine(Path.GetTempPath(), "alicia-voice-bench-" + Guid.NewGuid().ToString("N"));
        await using var engine = new AliciaEngine(new AliciaEngineOptions { KeyDirectory = keys, Broker = new EmbeddedBrokerOptions { Port = 0 } });
        var voice = new VoiceService(new VoiceOptions
        {
            VadModelPath = TestAudio.VadModelPath,
            WhisperModelPath = TestAudio.TinyModel,
            Quality = new QualityOptions { MinConfidence = 0, MaxNoSpeechProbability = 1 },
            Pool = new SttPoolOptions { MaxWait = TimeSpan.FromSeconds(30), QueueCapacity = 64 },
        });
        engine.AddService(voice);
        await engine.StartAsync();
        var traces = new ConcurrentBag<UtteranceTrace>();
        voice.Published += traces.Add;

        string[] phrases = ["turn on the kitchen light please", "set a timer for ten minutes", "what is the weather like today", "play some music in the living room"];
        byte[][] clips = phrases.Select(p => TestAudio.ToPcm(TestAudio.Concat(TestAudio.Silence(0.3), TestAudio.Speech(p, 130).ToMono16k(), TestAudio.Silence(0.5)))).ToArray();
        var buses = new List<AliciaBus>();
        for (int i = 0; i < 10; i++)
            buses.Add(await AliciaBus.ConnectAsync(engine.ClientEndpoint!, engine.Keys.Create("bench" + i), new EnvelopeVerifier(new TrustStore(engine.Keys), metrics: new BusMetrics())));

        foreach (int concurrency in new[] { 1, 10 })
        {
            traces.Clear();
            for (int round = 0; round < (concurrency == 1 ? 12 : 3); round++)
                await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async i =>
                {
                    await Task.Delay(i * 150); // staggered ends
                    VoiceSendResult r = await VoiceClient.SendAsync(buses[i], clips[(i + round) % clips.Length], 16000, 1, new VoiceSendOptions { Timeout = TimeSpan.FromSeconds(120) });
                    Assert.Null(r.Error);
                }));
            Report(concurrency, traces.ToList());
        }
        foreach (AliciaBus b in buses) await b.DisposeAsync();
        Directory.Delete(keys, true);
    }

    private void Report(int concurrency, List<UtteranceTrace> traces)
    {
        string P(Func<UtteranceTrace, double> f)
        {
            double[] v = traces.Select(f).Order().ToArray();
            return $"p50 {v[(int)(0.5 * (v.Length - 1))],7:0.0}  p95 {v[(int)Math.Ceiling(0.95 * (v.Length - 1))],7:0.0}";
        }
        output.WriteLine($"{concurrency} session(s), {traces.Count} utterances of {traces.Average(t => t.Utterance.DurationSeconds):0.00} s mean:");
        output.WriteLine($"  VAD end of speech -> endpoint   {P(t => t.Response.Timings["vad_endpoint_ms"])} ms");
        output.WriteLine($"  STT queue                       {P(t => t.Response.Timings["stt_queue_ms"])} ms");
        output.WriteLine($"  STT (audio_ctx {traces.Average(t => t.Response.Timings["audio_ctx"]):0})          {P(t => t.Response.Timings["stt_ms"])} ms");
        output.WriteLine($"  endpoint -> published           {P(t => t.EndpointToPublishedMs)} ms");
        output.WriteLine($"  end of speech -> published      {P(t => t.EndOfSpeechToPublishedMs)} ms");
    }
}
