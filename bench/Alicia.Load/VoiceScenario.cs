using Alicia.Tools.Voice;
using Alicia.Tools.Models;
using System.Diagnostics;
using System.Globalization;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Security;
using Alicia.Voice;
using Alicia.Voice.Audio;
using Alicia.Voice.Stt;
using Alicia.Voice.Vad;

namespace Alicia.Load;

/// <summary>
/// <c>--scenario voice</c>: per-stage latency of the listening pipeline through a whole engine (embedded
/// broker, voice service, Silero VAD, Whisper on a random-weight model with tiny.en's dimensions). Satellites
/// open sessions on the bus and stream espeak-ng commands of about 3 s over TCP in real time, 1 and 10 at
/// once with staggered starts so their utterances end at different times. Each run is repeated with
/// speculative STT off (the baseline) and on, in the same process, and the stage stamps of every published
/// transcript are reported as p50/p95/max. Random weights measure compute cost only, never accuracy.
/// </summary>
internal static class VoiceScenario
{
    public static async Task<int> RunAsync(LoadOptions o, TextWriter log)
    {
        string vad = SileroVadModel.FindDefault() ?? throw new FileNotFoundException("Silero VAD model missing: run scripts/fetch-models.sh");
        string loadBefore = VoiceResults.LoadAverage();
        byte[][] clips = VoiceCommands.Clips();
        Console.WriteLine($"  commands: {string.Join(", ", clips.Select(c => (c.Length / 32000.0).ToString("0.00 s", CultureInfo.InvariantCulture)))}; model {o.WhisperModel} ({string.Join(", ", o.WhisperWeights)}); token cap {o.MaxTokens?.ToString(CultureInfo.InvariantCulture) ?? "default"}; hangover {o.HangoverMs:0} ms; whisper {o.WhisperThreads?.ToString(CultureInfo.InvariantCulture) ?? "default"} thread(s) x {o.WhisperConcurrency?.ToString(CultureInfo.InvariantCulture) ?? "default"}; stagger {o.StaggerMs:0} ms; {(o.RealTime ? "real time" : "as fast as possible")}; speculation beside real work {(o.SpeculateBesideRealWork ? "allowed" : "not allowed")}");
        Console.WriteLine($"  machine: {VoiceResults.Cpu()}, {Environment.ProcessorCount} logical CPUs; whisper.cpp: {Alicia.Voice.Stt.Whisper.WhisperLibrary.SystemInfo()}; loadavg {loadBefore}");

        var rows = new List<(string Name, string Mode, List<UtteranceTrace> Traces)>();
        var runs = new List<VoiceRun>();
        foreach (string weights in o.WhisperWeights)
        {
            string whisper = VoiceCommands.WhisperModel(o.WhisperModel, Enum.Parse<WhisperWeights>(weights, ignoreCase: true));
            foreach (int sessions in o.VoiceSessions)
                foreach (string mode in o.SpeculateModes)
                {
                    List<UtteranceTrace> traces = await RunOnceAsync(o, vad, whisper, mode == "on", sessions, i => VoiceCommands.Stream(clips, i, o.Utterances), log).ConfigureAwait(false);
                    rows.Add(($"{weights}, {sessions} session(s)", mode, traces));
                    runs.Add(Run($"{sessions} session(s)", weights, sessions, mode, o, traces));
                    Print($"{weights}, {sessions} session(s), speculation {mode}", traces);
                }
            if (o.Jfk is { } jfk && File.Exists(jfk))
            {
                byte[] pcm = PcmConverter.FloatToS16(WavFile.Read(jfk).ToMono16k());
                foreach (string mode in o.SpeculateModes)
                {
                    List<UtteranceTrace> traces = await RunOnceAsync(o, vad, whisper, mode == "on", 1, _ => pcm, log).ConfigureAwait(false);
                    rows.Add(($"{weights}, jfk.wav", mode, traces));
                    runs.Add(Run("jfk.wav", weights, 1, mode, o, traces));
                    Print($"{weights}, jfk.wav replay, speculation {mode}", traces);
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine("| run | speculation | utterances | end of speech -> endpoint p95 | endpoint -> published p50 / p95 | end of speech -> published p50 / p95 |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach ((string name, string mode, List<UtteranceTrace> traces) in rows)
        {
            double[] endpoint = Sorted(traces, t => t.EndpointToPublishedMs), eos = Sorted(traces, t => t.EndOfSpeechToPublishedMs);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {mode} | {traces.Count} | {P(Sorted(traces, t => t.Response.Timings["vad_endpoint_ms"]), 95):0} ms | {P(endpoint, 50):0} / {P(endpoint, 95):0} ms | {P(eos, 50):0} / {P(eos, 95):0} ms |"));
        }
        foreach (IGrouping<string, (string Name, string Mode, List<UtteranceTrace> Traces)> run in rows.GroupBy(r => r.Name))
        {
            var off = run.FirstOrDefault(r => r.Mode == "off");
            var on = run.FirstOrDefault(r => r.Mode == "on");
            if (off.Traces is null || on.Traces is null) continue;
            double ratio = P(Sorted(on.Traces, t => t.EndOfSpeechToPublishedMs), 95) / P(Sorted(off.Traces, t => t.EndOfSpeechToPublishedMs), 95);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{run.Key}: end of speech -> published p95 with speculation = {ratio:0.00}x the baseline without it"));
        }
        foreach (IGrouping<(string, string), VoiceRun> same in runs.GroupBy(r => (r.Name, r.Speculation)))
        {
            VoiceRun[] byWeights = [.. same];
            if (byWeights.Length < 2) continue;
            double baseline = P95(byWeights[0]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{same.Key.Item1}, speculation {same.Key.Item2}: end of speech -> published p95 {string.Join(", ", byWeights.Select(r => $"{r.Weights} {P95(r):0} ms ({P95(r) / baseline:0.00}x)"))}"));
        }
        Console.WriteLine("results: " + VoiceResults.Write("voice", LoadCommandLine.Text, loadBefore, runs));
        return 0;
    }

    private static double P95(VoiceRun run) => run.Stages.First(s => s.Stage == "end of speech -> published").P95;

    private static VoiceRun Run(string name, string weights, int sessions, string mode, LoadOptions o, List<UtteranceTrace> traces) =>
        new(name, weights, sessions, mode, o.MaxTokens ?? new VoiceOptions().CommandMaxTokens, traces.Count == 0 ? 0 : traces.Average(t => t.Response.Timings.GetValueOrDefault("tokens")),
        [
            StageFigures.Of("end of speech -> endpoint (VAD)", traces.Select(t => t.Response.Timings["vad_endpoint_ms"])),
            StageFigures.Of("STT queue", traces.Select(t => t.Response.Timings["stt_queue_ms"])),
            StageFigures.Of("STT", traces.Select(t => t.Response.Timings["stt_ms"])),
            StageFigures.Of("endpoint -> published", traces.Select(t => t.EndpointToPublishedMs)),
            StageFigures.Of("end of speech -> published", traces.Select(t => t.EndOfSpeechToPublishedMs)),
        ], VoiceResults.LoadAverage());

    private static async Task<List<UtteranceTrace>> RunOnceAsync(LoadOptions o, string vad, string whisper, bool speculate, int sessions, Func<int, byte[]> audioOf, TextWriter log)
    {
        string dir = Path.Combine(Path.GetTempPath(), "alicia-load-voice-" + Guid.NewGuid().ToString("N"));
        var traces = new List<UtteranceTrace>();
        var buses = new List<AliciaBus>();
        var engine = new AliciaEngine(new AliciaEngineOptions { KeyDirectory = Path.Combine(dir, "keys"), DataDirectory = Path.Combine(dir, "data"), Broker = new EmbeddedBrokerOptions { Port = 0 } });
        try
        {
            var voice = new VoiceService(new VoiceOptions
            {
                VadModelPath = vad,
                WhisperModelPath = whisper,
                WhisperThreads = o.WhisperThreads,
                WhisperConcurrency = o.WhisperConcurrency,
                Endpointing = new EndpointerOptions { Hangover = TimeSpan.FromMilliseconds(o.HangoverMs), SpeculateAfter = speculate ? TimeSpan.Zero : null },
                Quality = new QualityOptions { MinConfidence = 0, MaxNoSpeechProbability = 1 }, // random weights: publish every transcript
                Pool = new SttPoolOptions { MaxWait = TimeSpan.FromSeconds(30), QueueCapacity = 64, SpeculateBesideRealWork = o.SpeculateBesideRealWork },
                CommandMaxTokens = o.MaxTokens ?? new VoiceOptions().CommandMaxTokens,
            });
            engine.AddService(voice);
            await engine.StartAsync().ConfigureAwait(false);
            voice.Published += t => { lock (traces) traces.Add(t); };
            for (int i = 0; i < sessions; i++)
                buses.Add(await AliciaBus.ConnectAsync(engine.ClientEndpoint!, engine.Keys.Create("satellite" + i), new EnvelopeVerifier(new TrustStore(engine.Keys), metrics: new BusMetrics())).ConfigureAwait(false));

            var clock = Stopwatch.StartNew();
            VoiceSendResult[] results = await Task.WhenAll(Enumerable.Range(0, sessions).Select(async i =>
            {
                await Task.Delay(TimeSpan.FromMilliseconds(i * o.StaggerMs)).ConfigureAwait(false);
                return await VoiceClient.SendAsync(buses[i], audioOf(i), 16000, 1, new VoiceSendOptions { RealTime = o.RealTime, Timeout = TimeSpan.FromSeconds(300) }).ConfigureAwait(false);
            })).ConfigureAwait(false);
            foreach (VoiceSendResult r in results.Where(r => r.Error is not null)) log.WriteLine($"[voice] session {r.SessionId}: {r.Error}");
            log.WriteLine($"[voice] {sessions} session(s), speculation {(speculate ? "on" : "off")}: {traces.Count} transcripts in {clock.Elapsed.TotalSeconds:0.0} s; speculations started {voice.SpeculationsStarted}, withdrawn {voice.SpeculationsWithdrawn}, yielded {voice.Pool?.YieldedCount}; busy {voice.Pool?.BusyCount}; loadavg {VoiceResults.LoadAverage()}");
            lock (traces) return [.. traces];
        }
        finally
        {
            foreach (AliciaBus bus in buses) await bus.DisposeAsync().ConfigureAwait(false);
            await engine.DisposeAsync().ConfigureAwait(false);
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static void Print(string title, List<UtteranceTrace> traces)
    {
        if (traces.Count == 0)
        {
            Console.WriteLine($"{title}: no transcripts");
            return;
        }
        string Row(string stage, Func<UtteranceTrace, double> f)
        {
            double[] v = Sorted(traces, f);
            return string.Create(CultureInfo.InvariantCulture, $"  {stage,-34} p50 {P(v, 50),7:0.0}  p95 {P(v, 95),7:0.0}  max {v[^1],7:0.0} ms");
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{title}: {traces.Count} utterances, {traces.Average(t => t.Utterance.DurationSeconds):0.00} s mean, {traces.Average(t => t.Response.Timings.GetValueOrDefault("tokens")):0.0} tokens mean, audio_ctx {traces.Average(t => t.Response.Timings.GetValueOrDefault("audio_ctx")):0} mean, {traces.Count(t => t.Response.Timings.GetValueOrDefault("speculative") == 1)} answered by speculation, {traces.Count(t => t.Status != "ok")} not ok (busy: waited past the pool's limit)"));
        Console.WriteLine(Row("end of speech -> endpoint (VAD)", t => t.Response.Timings["vad_endpoint_ms"]));
        Console.WriteLine(Row("STT queue", t => t.Response.Timings["stt_queue_ms"]));
        Console.WriteLine(Row("STT", t => t.Response.Timings["stt_ms"]));
        Console.WriteLine(Row("endpoint -> published", t => t.EndpointToPublishedMs));
        Console.WriteLine(Row("end of speech -> published", t => t.EndOfSpeechToPublishedMs));
    }

    private static double[] Sorted(List<UtteranceTrace> traces, Func<UtteranceTrace, double> f) => traces.Select(f).Order().ToArray();

    /// <summary>Nearest-rank percentile.</summary>
    private static double P(double[] sorted, double percentile) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(percentile / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
}
