using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Security;
using Alicia.Tools.Models;
using Alicia.Tools.Voice;
using Alicia.Voice;
using Alicia.Voice.Audio;
using Alicia.Voice.Stt;
using Alicia.Voice.Vad;

namespace Alicia.Load;

/// <summary>
/// <c>--scenario voice-loop</c>: the whole loop as it stands, end of speech to the first byte of reply audio at the
/// satellite. Satellites stream espeak-ng commands in real time (speculation on) and take the reply on the same
/// connection; a bus client stands in for the command router (another component) and answers every transcript with
/// a cached fixed phrase ("Done."), spoken by espeak-ng. Stages from in-process stopwatch stamps: end of speech ->
/// transcript published (VAD, STT), published -> the router has it (bus), router -> first reply audio at the satellite
/// (bus, speech output, audio connection). Random-weight Whisper: compute cost only.
/// </summary>
internal static class VoiceLoopScenario
{
    public static async Task<int> RunAsync(LoadOptions o, TextWriter log)
    {
        string vad = SileroVadModel.FindDefault() ?? throw new FileNotFoundException("Silero VAD model missing: run scripts/fetch-models.sh");
        string loadBefore = VoiceResults.LoadAverage();
        byte[][] clips = VoiceCommands.Clips();
        Console.WriteLine($"  loop: model {o.WhisperModel} ({string.Join(", ", o.WhisperWeights)}); token cap {o.MaxTokens?.ToString(CultureInfo.InvariantCulture) ?? "default"}; hangover {o.HangoverMs:0} ms; speculation on (beside real work {(o.SpeculateBesideRealWork ? "allowed" : "not allowed")}); {o.Utterances} command(s) per session; stagger {o.StaggerMs:0} ms");
        Console.WriteLine($"  machine: {VoiceResults.Cpu()}, {Environment.ProcessorCount} logical CPUs; whisper.cpp: {Alicia.Voice.Stt.Whisper.WhisperLibrary.SystemInfo()}; loadavg {loadBefore}");
        await SynthesisCostAsync().ConfigureAwait(false);
        var runs = new List<VoiceRun>();
        foreach (string weights in o.WhisperWeights)
        {
            string whisper = VoiceCommands.WhisperModel(o.WhisperModel, Enum.Parse<WhisperWeights>(weights, ignoreCase: true));
            foreach (int sessions in o.VoiceSessions) runs.Add(await RunOnceAsync(o, vad, whisper, weights, sessions, clips, log).ConfigureAwait(false));
        }
        foreach (IGrouping<int, VoiceRun> same in runs.GroupBy(r => r.Sessions))
        {
            VoiceRun[] byWeights = [.. same];
            if (byWeights.Length < 2) continue;
            double baseline = Loop(byWeights[0]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{same.Key} session(s): end of speech -> first reply audio p95 {string.Join(", ", byWeights.Select(r => $"{r.Weights} {Loop(r):0} ms ({Loop(r) / baseline:0.00}x)"))}"));
        }
        Console.WriteLine("results: " + VoiceResults.Write("voice-loop", LoadCommandLine.Text, loadBefore, runs));
        return 0;
    }

    /// <summary>
    /// One short sentence, 20 times after a warm-up: espeak-ng's own synthesis, and the Piper-shaped random-weight graph
    /// (its real-time factor is the graph's, not a real Piper voice's: it has no VITS layers).
    /// </summary>
    private static async Task SynthesisCostAsync()
    {
        const string sentence = "The kitchen light is on.";
        using var piper = new Alicia.Voice.Speech.Piper.PiperSynthesizer(RandomPiperVoice.GetOrCreate(Path.Combine(Path.GetTempPath(), "alicia-voice-test-models")));
        foreach (Alicia.Voice.Speech.ISpeechSynthesizer voice in new Alicia.Voice.Speech.ISpeechSynthesizer[] { new Alicia.Voice.Speech.Espeak.EspeakSynthesizer(), piper })
        {
            var times = new List<double>();
            double audio = 0;
            for (int i = 0; i < 21; i++)
            {
                long start = Stopwatch.GetTimestamp();
                long bytes = 0;
                await foreach (ReadOnlyMemory<byte> chunk in voice.SynthesizeAsync(sentence, Alicia.Voice.Speech.SpeechSettings.Default, CancellationToken.None).ConfigureAwait(false)) bytes += chunk.Length;
                if (i == 0) continue; // warm-up
                times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                audio = bytes / (double)voice.Format.BytesPerSecond;
            }
            double[] v = [.. times.Order()];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  synthesis of \"{sentence}\" by {voice.Name}: p50 {v[v.Length / 2]:0.0} ms, p95 {v[(int)Math.Ceiling(0.95 * v.Length) - 1]:0.0} ms for {audio:0.00} s of audio (real-time factor {v[v.Length / 2] / 1000 / audio:0.000})"));
        }
    }

    private static double Loop(VoiceRun run) => run.Stages[^1].P95;

    private static async Task<VoiceRun> RunOnceAsync(LoadOptions o, string vad, string whisper, string weights, int sessions, byte[][] clips, TextWriter log)
    {
        string dir = Path.Combine(Path.GetTempPath(), "alicia-load-loop-" + Guid.NewGuid().ToString("N"));
        var traces = new ConcurrentDictionary<string, UtteranceTrace>();
        var routed = new ConcurrentDictionary<string, long>();
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
                Endpointing = new EndpointerOptions { Hangover = TimeSpan.FromMilliseconds(o.HangoverMs), SpeculateAfter = TimeSpan.Zero },
                Quality = new QualityOptions { MinConfidence = 0, MaxNoSpeechProbability = 1 },
                Pool = new SttPoolOptions { MaxWait = TimeSpan.FromSeconds(30), QueueCapacity = 64, SpeculateBesideRealWork = o.SpeculateBesideRealWork },
                CommandMaxTokens = o.MaxTokens ?? new VoiceOptions().CommandMaxTokens,
            });
            engine.AddService(voice);
            await engine.StartAsync().ConfigureAwait(false);
            voice.Published += t => traces[t.SessionId + "-" + t.Utterance.Index] = t;
            async Task<AliciaBus> Connect(string name) =>
                await AliciaBus.ConnectAsync(engine.ClientEndpoint!, engine.Keys.Create(name), new EnvelopeVerifier(new TrustStore(engine.Keys), metrics: new BusMetrics())).ConfigureAwait(false);
            AliciaBus router = await Connect("router-stand-in");
            buses.Add(router);
            await using IAsyncDisposable answering = await router.SubscribeAsync<SttResponse>(async (m, ct) =>
            {
                string id = m.Data.SessionId + "-" + m.Data.Utterance;
                routed[id] = Stopwatch.GetTimestamp();
                await router.PublishAsync(new AiResponse
                {
                    SessionId = m.Data.SessionId, DeviceId = m.Data.DeviceId, ReplyId = id, Text = "Done.", IsFinal = true, IsFixedPhrase = true, Source = ReplySource.LocalIntent,
                }, cancellationToken: ct).ConfigureAwait(false);
            }, new SubscribeOptions { ReceiveAll = true }).ConfigureAwait(false);
            for (int i = 0; i < sessions; i++) buses.Add(await Connect("satellite" + i).ConfigureAwait(false));

            VoiceSendResult[] results = await Task.WhenAll(Enumerable.Range(0, sessions).Select(async i =>
            {
                await Task.Delay(TimeSpan.FromMilliseconds(i * o.StaggerMs)).ConfigureAwait(false);
                return await VoiceClient.SendAsync(buses[i + 1], VoiceCommands.Stream(clips, i, o.Utterances), 16000, 1, new VoiceSendOptions
                {
                    DeviceId = "satellite" + i, RealTime = true, ReceiveReplies = true, ExpectedReplies = o.Utterances, Timeout = TimeSpan.FromSeconds(300),
                }).ConfigureAwait(false);
            })).ConfigureAwait(false);
            foreach (VoiceSendResult r in results.Where(r => r.Error is not null)) log.WriteLine($"[voice-loop] session {r.SessionId}: {r.Error}");

            var loop = new List<double>();
            var stt = new List<double>();
            var toRouter = new List<double>();
            var toAudio = new List<double>();
            foreach (SpokenReply reply in results.SelectMany(r => r.Replies.All))
            {
                if (reply.FirstAudioTicks == 0 || !traces.TryGetValue(reply.ReplyId, out UtteranceTrace? t) || !routed.TryGetValue(reply.ReplyId, out long routedAt)) continue;
                loop.Add(Stopwatch.GetElapsedTime(t.Utterance.SpeechEndArrivedTicks, reply.FirstAudioTicks).TotalMilliseconds);
                stt.Add(t.EndOfSpeechToPublishedMs);
                toRouter.Add(Stopwatch.GetElapsedTime(t.PublishedTicks, routedAt).TotalMilliseconds);
                toAudio.Add(Stopwatch.GetElapsedTime(routedAt, reply.FirstAudioTicks).TotalMilliseconds);
            }
            Console.WriteLine($"{weights}, {sessions} session(s): {loop.Count} replies of {traces.Count} transcripts; speculations started {voice.SpeculationsStarted}, withdrawn {voice.SpeculationsWithdrawn}, yielded {voice.Pool?.YieldedCount}; loadavg {VoiceResults.LoadAverage()}");
            StageFigures[] stages =
            [
                StageFigures.Of("end of speech -> transcript published", stt),
                StageFigures.Of("published -> router has it (bus)", toRouter),
                StageFigures.Of("router -> first reply audio at satellite", toAudio),
                StageFigures.Of("END OF SPEECH -> FIRST REPLY AUDIO", loop),
            ];
            foreach (StageFigures s in stages) Row(s);
            return new VoiceRun($"{sessions} session(s)", weights, sessions, "on", o.MaxTokens ?? new VoiceOptions().CommandMaxTokens,
                traces.IsEmpty ? 0 : traces.Values.Average(t => t.Response.Timings.GetValueOrDefault("tokens")), stages, VoiceResults.LoadAverage());
        }
        finally
        {
            foreach (AliciaBus bus in buses) await bus.DisposeAsync().ConfigureAwait(false);
            await engine.DisposeAsync().ConfigureAwait(false);
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static void Row(StageFigures s) =>
        Console.WriteLine(s.Count == 0
            ? $"  {s.Stage}: no samples"
            : string.Create(CultureInfo.InvariantCulture, $"  {s.Stage,-42} p50 {s.P50,7:0.0}  p95 {s.P95,7:0.0}  max {s.Max,7:0.0} ms"));
}
