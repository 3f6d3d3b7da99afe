using System.Diagnostics;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Security;
using Alicia.Tools.Voice;
using Alicia.Voice;
using Alicia.Voice.Vad;

namespace Alicia.Load;

/// <summary>
/// <c>--scenario reply</c>: a local intent's answer to the first reply audio chunk at a listening satellite. A bus
/// client standing in for the router publishes a fixed-phrase <see cref="AiResponse"/> ("Done.", cached after its first
/// synthesis) for a satellite whose audio connection is open and listening; the time runs from just before the publish
/// to the first audio frame read by the satellite (bus hop, speech output, phrase cache, TCP). One uncached warm-up, then
/// <c>--utterances</c> cached replies, one at a time (each waits for the previous to end).
/// </summary>
internal static class ReplyScenario
{
    public static async Task<int> RunAsync(LoadOptions o, TextWriter log)
    {
        string vad = SileroVadModel.FindDefault() ?? throw new FileNotFoundException("Silero VAD model missing: run scripts/fetch-models.sh");
        string dir = Path.Combine(Path.GetTempPath(), "alicia-load-reply-" + Guid.NewGuid().ToString("N"));
        var engine = new AliciaEngine(new AliciaEngineOptions { KeyDirectory = Path.Combine(dir, "keys"), DataDirectory = Path.Combine(dir, "data"), Broker = new EmbeddedBrokerOptions { Port = 0 } });
        var buses = new List<AliciaBus>();
        try
        {
            // No speech-to-text: the satellite's session only opens the connection the replies come back on.
            var voice = new VoiceService(new VoiceOptions { VadModelPath = vad, Speech = new Alicia.Voice.Speech.SpeechOptions { ReplyWait = TimeSpan.FromMinutes(10) } });
            engine.AddService(voice);
            await engine.StartAsync().ConfigureAwait(false);
            async Task<AliciaBus> Connect(string name) =>
                await AliciaBus.ConnectAsync(engine.ClientEndpoint!, engine.Keys.Create(name), new EnvelopeVerifier(new TrustStore(engine.Keys), metrics: new BusMetrics())).ConfigureAwait(false);
            AliciaBus router = await Connect("router-stand-in");
            AliciaBus satellite = await Connect("satellite0");
            buses.Add(router);
            buses.Add(satellite);

            int total = o.Utterances + 1;
            var firstAudio = new SemaphoreSlim(0);
            var replies = new VoiceReplies { OnAudio = (r, _) => { if (r.Chunks == 1) firstAudio.Release(); } };
            Task<VoiceSendResult> listening = VoiceClient.SendAsync(satellite, new byte[16000], 16000, 1, new VoiceSendOptions
            {
                DeviceId = "satellite0", ReceiveReplies = true, ExpectedReplies = total, Timeout = TimeSpan.FromMinutes(10),
            }, replies: replies);
            var ready = Stopwatch.StartNew();
            while (voice.Satellites.Find("", "satellite0") is null)
            {
                if (listening.IsCompleted || ready.Elapsed > TimeSpan.FromSeconds(60)) throw new InvalidOperationException("the satellite never listened: " + (listening.IsCompleted ? (await listening.ConfigureAwait(false)).Error : "timeout"));
                await Task.Delay(20).ConfigureAwait(false);
            }

            var times = new List<double>();
            for (int i = 0; i < total; i++)
            {
                long start = Stopwatch.GetTimestamp();
                await router.PublishAsync(new AiResponse
                {
                    DeviceId = "satellite0", ReplyId = "r" + i, Text = "Done.", IsFinal = true, IsFixedPhrase = true, Source = ReplySource.LocalIntent,
                }).ConfigureAwait(false);
                if (!await firstAudio.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false)) throw new TimeoutException($"reply {i}: no audio");
                SpokenReply reply = replies.All.Single(r => r.ReplyId == "r" + i);
                if (i > 0) times.Add(Stopwatch.GetElapsedTime(start, reply.FirstAudioTicks).TotalMilliseconds); // the first synthesizes and fills the cache
                // Polled: the client's own wait for the replies takes the change signals.
                var ending = Stopwatch.StartNew();
                while (reply.Status is null)
                {
                    if (ending.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException($"reply {i} did not end");
                    await Task.Delay(10).ConfigureAwait(false);
                }
            }
            double[] v = [.. times.Order()];
            double P(double p) => v[Math.Clamp((int)Math.Ceiling(p / 100 * v.Length) - 1, 0, v.Length - 1)];
            Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"  cached fixed phrase, AiResponse published -> first reply audio frame at the satellite ({v.Length} replies): p50 {P(50):0.00}  p95 {P(95):0.00}  max {v[^1]:0.00} ms"));
            return 0;
        }
        finally
        {
            foreach (AliciaBus bus in buses) await bus.DisposeAsync().ConfigureAwait(false);
            await engine.DisposeAsync().ConfigureAwait(false);
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }
}
