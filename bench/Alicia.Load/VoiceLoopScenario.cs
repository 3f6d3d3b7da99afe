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
    private static readonly string[] Phrases = ["turn on the kitchen light please", "set a timer for ten minutes", "what is the weather like today", "play some music in the living room"];

    public static async Task<int> RunAsync(LoadOptions o, TextWriter log)
    {
        string vad = SileroVadModel.FindDefault() ?? throw new FileNotFoundException("Silero VAD model missing: run scripts/fetch-models.sh");
        string whisper = RandomWhisperModel.GetOrCreate(Path.Combine(Path.GetTempPath(), "alicia-voice-test-models"), o.WhisperModel switch
        {
            "tiny" => WhisperDimensions.TinyEn,
            "tiny-talk" => WhisperDimensions.TinyEn with { Talkative = true },
            _ => WhisperDimensions.Micro,
        });
        byte[][] clips = [.. Phrases.Select(p => PcmConverter.FloatToS16(VoiceScenario.Speak(p)))];
        Console.WriteLine($"  loop: model {Path.GetFileName(whisper)}; hangover {o.HangoverMs:0} ms; speculation on; {o.Utterances} command(s) per session; stagger {o.StaggerMs:0} ms");
        await SynthesisCostAsync().ConfigureAwait(false);
        foreach (int sessions in o.VoiceSessions) await RunOnceAsync(o, vad, whisper, sessions, clips, log).ConfigureAwait(false);
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

    private static async Task RunOnceAsync(LoadOptions o, string vad, string whisper, int sessions, byte[][] clips, TextWriter log)
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
                Pool = new SttPoolOptions { MaxWait = TimeSpan.FromSeconds(30), QueueCapacity = 64 },
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
                var pcm = new List<byte>(new byte[9600]);
                for (int k = 0; k < o.Utterances; k++)
                {
                    pcm.AddRange(clips[(i + k) % clips.Length]);
                    pcm.AddRange(new byte[32000]);
                }
                return await VoiceClient.SendAsync(buses[i + 1], [.. pcm], 16000, 1, new VoiceSendOptions
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
            Console.WriteLine($"{sessions} session(s): {loop.Count} replies of {traces.Count} transcripts");
            Row("end of speech -> transcript published", stt);
            Row("published -> router has it (bus)", toRouter);
            Row("router -> first reply audio at satellite", toAudio);
            Row("END OF SPEECH -> FIRST REPLY AUDIO", loop);
        }
        finally
        {
            foreach (AliciaBus bus in buses) await bus.DisposeAsync().ConfigureAwait(false);
            await engine.DisposeAsync().ConfigureAwait(false);
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static void Row(string stage, List<double> values)
    {
        double[] v = [.. values.Order()];
        if (v.Length == 0)
        {
            Console.WriteLine($"  {stage}: no samples");
            return;
        }
        double P(double p) => v[Math.Clamp((int)Math.Ceiling(p / 100 * v.Length) - 1, 0, v.Length - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {stage,-42} p50 {P(50),7:0.0}  p95 {P(95),7:0.0}  max {v[^1],7:0.0} ms"));
    }
}
