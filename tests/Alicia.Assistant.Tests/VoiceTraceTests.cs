using System.Diagnostics;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Bus.Tracing;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Registry;
using Alicia.Engine.Security;
using Alicia.Tools.Simulation;
using Alicia.Tools.Voice;
using Alicia.Voice;
using Alicia.Voice.Audio;
using Alicia.Voice.Speech.Output;
using Alicia.Voice.Vad;
using Alicia.Web;

namespace Alicia.Assistant.Tests;

/// <summary>
/// The spans of a spoken request, recorded by an in-test <see cref="ActivityListener"/> (and, in the last test, exported
/// over OTLP to a local collector): espeak-ng audio through the kitchen satellite's real audio connection, Silero VAD,
/// the scripted speech-to-text test double (no Whisper weights here), the command router or the FAKE Grok server, and
/// the reply spoken back in espeak-ng on the same connection. Each request is one trace, session to speaker.
/// </summary>
public sealed class VoiceTraceTests
{
    internal const string Command = "turn on the kitchen light";
    private const string Question = "tell me a story about the moon";

    [Fact]
    public async Task A_spoken_command_is_one_trace_from_the_session_through_the_router_to_the_reply_audio()
    {
        using var spans = new SpanCollector();
        await using SpokenHome home = await SpokenHome.StartAsync("", Command);

        (VoiceSendResult sent, string traceId) = await home.SayAsync(Command);
        Span session = await spans.WaitForAsync(traceId, "voice session");
        Span reply = await spans.WaitForAsync(traceId, "voice reply");
        IReadOnlyList<Span> trace = spans.Of(traceId);

        Assert.Equal(default, session.ParentSpanId); // the root: the request starts at the session
        Span utterance = Single(trace, "voice utterance");
        Assert.Equal(session.SpanId, utterance.ParentSpanId);
        Span vad = Single(trace, "vad endpoint"), queue = Single(trace, "stt queue"), decode = Single(trace, "stt decode");
        Assert.All([vad, queue, decode], s => Assert.Equal(utterance.SpanId, s.ParentSpanId));

        // The stages are the transcript's own measurements.
        SttResponse transcript = Assert.Single(sent.Transcripts).Data;
        Assert.Equal(transcript.Timings["vad_endpoint_ms"], vad.Duration.TotalMilliseconds, 0.01);
        Assert.Equal(transcript.Timings["stt_queue_ms"], queue.Duration.TotalMilliseconds, 0.01);
        Assert.Equal(transcript.Timings["stt_ms"], decode.Duration.TotalMilliseconds, 0.01);
        Assert.True(decode.Start >= queue.End - Tick && utterance.Start <= vad.Start && session.Start <= utterance.Start);

        // The transcript's publish is a child of the utterance; the router joined the trace its envelope carried.
        Span publishStt = Single(trace, "publish " + SttResponse.TopicPattern);
        Assert.Equal(utterance.SpanId, publishStt.ParentSpanId);
        Span route = Single(trace, "assistant route");
        Assert.Equal(publishStt.SpanId, route.ParentSpanId);
        Assert.Equal(("turn_on", "local_intent"), (route.Tags["alicia.assistant.intent"], route.Tags["alicia.assistant.source"]));
        Assert.True(route.Start >= decode.End - Tick);
        Assert.DoesNotContain(trace, s => s.Name == "llm request"); // a local intent asks no model

        // The reply: started by a piece the router published under its span, then synthesis, first chunk, audio out.
        Span publishReply = trace.First(s => s.SpanId == reply.ParentSpanId);
        Assert.Equal("publish " + AiResponse.TopicPattern, publishReply.Name);
        Assert.Equal(route.SpanId, publishReply.ParentSpanId);
        Span synthesis = Single(trace, "voice synthesis"), first = Single(trace, "voice first audio"), audioOut = Single(trace, "voice audio out");
        Assert.All([synthesis, first, audioOut], s => Assert.Equal(reply.SpanId, s.ParentSpanId));
        Assert.True(synthesis.End <= first.Start + Tick && first.End <= audioOut.Start + Tick && audioOut.End <= reply.End + Tick);
        Assert.Equal("Spoken", reply.Tags["alicia.voice.reply_status"]);
        Assert.Equal(ReplyEndStatus.Spoken, Assert.Single(sent.Replies.All).Status);
        Assert.True(audioOut.Duration > TimeSpan.Zero);
    }

    [Fact]
    public async Task A_spoken_question_the_router_cannot_answer_has_the_llm_request_as_a_child_of_the_route()
    {
        using var spans = new SpanCollector();
        await using SpokenHome home = await SpokenHome.StartAsync("", Question); // the only phrase known: the test double can take it for no other
        home.Grok.Then(FakeGrokReply.Text("Once upon a time ", "the moon sang to the sea."));

        (_, string traceId) = await home.SayAsync(Question);
        Span reply = await spans.WaitForAsync(traceId, "voice reply");
        IReadOnlyList<Span> trace = spans.Of(traceId);

        Span route = Single(trace, "assistant route");
        Span llm = Single(trace, "llm request");
        Assert.Equal(route.SpanId, llm.ParentSpanId);
        Assert.Equal("grok-fake", llm.Tags["gen_ai.request.model"]);
        Assert.True(llm.Start >= route.Start - Tick && llm.End <= route.End + Tick);
        Assert.Equal(llm.SpanId, trace.First(s => s.SpanId == reply.ParentSpanId).ParentSpanId); // the first piece, streamed from the model
        Assert.Equal(Single(trace, "voice session").TraceId, reply.TraceId);
    }

    [Fact]
    public async Task The_voice_spans_export_over_otlp_to_a_local_collector()
    {
        await using var collector = new OtlpTraceReceiver();
        string traceId;
        await using (SpokenHome home = await SpokenHome.StartAsync(collector.Endpoint, Command))
        {
            (_, traceId) = await home.SayAsync(Command);
        } // stopping the engine flushes the batch of spans
        OtlpTraceReceiver.Span session = await collector.WaitForAsync(s => s.TraceId == traceId && s.Name == "voice session");
        OtlpTraceReceiver.Span utterance = await collector.WaitForAsync(s => s.TraceId == traceId && s.Name == "voice utterance");
        Assert.Equal(session.SpanId, utterance.ParentSpanId);
        OtlpTraceReceiver.Span decode = await collector.WaitForAsync(s => s.TraceId == traceId && s.Name == "stt decode");
        Assert.Equal(utterance.SpanId, decode.ParentSpanId);
        await collector.WaitForAsync(s => s.TraceId == traceId && s.Name == "assistant route");
        await collector.WaitForAsync(s => s.TraceId == traceId && s.Name == "voice audio out");
        lock (collector.Received) Assert.DoesNotContain(collector.Received, s => s.TraceId == traceId && s.Name == "voice request"); // recorded, so not rebuilt by monitoring
    }

    [Fact]
    public async Task The_dashboard_draws_a_spoken_requests_waterfall_from_its_recorded_spans()
    {
        await using SpokenHome home = await SpokenHome.StartAsync("", Command, web: true);
        // A page's event stream, as the browser opens it: the dashboard records spans only while a page watches.
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        using HttpResponseMessage events = await http.GetAsync(new Uri(home.Web!.Url!, "events"), HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await events.Content.ReadAsStreamAsync());
        Assert.Equal("event: snapshot", await reader.ReadLineAsync());

        (_, string traceId) = await home.SayAsync(Command);

        using var timeout = new CancellationTokenSource(Waits.Long);
        string? waterfall = null;
        for (string? previous = ""; waterfall is null;)
        {
            string line = await reader.ReadLineAsync(timeout.Token) ?? throw new EndOfStreamException("the event stream ended");
            if (previous == "event: trace" && line.Contains(traceId, StringComparison.Ordinal) && line.Contains("\"fromSpans\":true", StringComparison.Ordinal)
                && line.Contains("\"voice audio out\"", StringComparison.Ordinal)) waterfall = line;
            previous = line;
        }
        foreach (string stage in (string[])["voice utterance", "vad endpoint", "stt queue", "stt decode", "assistant route", "voice reply", "voice synthesis", "voice first audio"])
            Assert.Contains($"\"name\":\"{stage}\"", waterfall, StringComparison.Ordinal);
        Assert.DoesNotContain("\"name\":\"publish", waterfall, StringComparison.Ordinal); // bus hops link the tree, the page shows the stages
    }

    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(1); // clock reads of separate spans may differ by a tick

    private static Span Single(IReadOnlyList<Span> trace, string name) => Assert.Single(trace, s => s.Name == name);

    internal sealed record Span(ActivityTraceId TraceId, ActivitySpanId SpanId, ActivitySpanId ParentSpanId, string Name, DateTime Start, TimeSpan Duration, IReadOnlyDictionary<string, string?> Tags)
    {
        public DateTime End => Start + Duration;
    }

    /// <summary>Records every stopped span of Alicia's sources (other tests' traces too: read one trace id at a time).</summary>
    private sealed class SpanCollector : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly List<Span> _spans = [];
        private readonly SemaphoreSlim _stopped = new(0);

        public SpanCollector()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = s => s.Name.StartsWith("Alicia.", StringComparison.Ordinal),
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = a =>
                {
                    var span = new Span(a.TraceId, a.SpanId, a.ParentSpanId, a.DisplayName, a.StartTimeUtc, a.Duration, a.Tags.ToDictionary(t => t.Key, t => t.Value));
                    lock (_spans) _spans.Add(span);
                    _stopped.Release();
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public IReadOnlyList<Span> Of(string traceId)
        {
            lock (_spans) return [.. _spans.Where(s => s.TraceId.ToHexString() == traceId)];
        }

        public async Task<Span> WaitForAsync(string traceId, string name)
        {
            using var timeout = new CancellationTokenSource(Waits.Long);
            while (true)
            {
                if (Of(traceId).FirstOrDefault(s => s.Name == name) is { } span) return span;
                await _stopped.WaitAsync(timeout.Token);
            }
        }

        public void Dispose()
        {
            _listener.Dispose();
            _stopped.Dispose();
        }
    }

    /// <summary>The engine with voice (espeak-ng replies), the assistant (FAKE Grok), a simulated kitchen light and the kitchen satellite.</summary>
    internal sealed class SpokenHome : IAsyncDisposable
    {
        private readonly List<IAsyncDisposable> _owned = [];
        private readonly ScriptedSpeechToTextTestDouble _stt;
        private readonly Dictionary<string, WavFile> _phrases = [];

        private SpokenHome(ScriptedSpeechToTextTestDouble stt, FakeGrokServer grok)
        {
            _stt = stt;
            Grok = grok;
        }

        public FakeGrokServer Grok { get; }
        public WebService? Web { get; private set; }
        private TestEngine Test { get; set; } = null!;
        private AliciaBus Satellite { get; set; } = null!;

        public static async Task<SpokenHome> StartAsync(string otlpEndpoint, string phrase, bool web = false)
        {
            string vad = SileroVadModel.FindDefault(AppContext.BaseDirectory) ?? throw new InvalidOperationException("models/cache/silero_vad_v5.onnx is missing (scripts/fetch-models.sh)");
            var stt = new ScriptedSpeechToTextTestDouble();
            var home = new SpokenHome(stt, new FakeGrokServer());
            home._phrases[phrase] = stt.Learn(phrase);
            var settings = new AssistantSettings();
            settings.Grok.BaseUrl = home.Grok.BaseUrl;
            settings.Grok.ApiKey = "test-key";
            settings.Grok.Model = "grok-fake";
            RegistryService registry = null!;
            home.Test = await TestEngine.StartAsync(services: e =>
            {
                e.AddService(registry = new RegistryService(new RegistryOptions()));
                e.AddService(new VoiceService(new VoiceOptions { VadModelPath = vad, MqttIdleTimeout = TimeSpan.FromSeconds(30) }, [stt]));
                e.AddService(new AssistantService(settings, registry));
                if (otlpEndpoint.Length > 0 || web) e.AddService(new MonitoringService(new MonitoringOptions())).AddService(home.Web = new WebService(new WebOptions { Port = 0, OtlpEndpoint = otlpEndpoint }));
            });
            var registered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            registry.Registry.Changed += c => { if (c.Device.DeviceId == "kitchen-light" && c.Device.IsLive) registered.TrySetResult(); };
            registry.Registry.Register(HomeEntry.Satellite("kitchen-satellite", "kitchen"), "sim-owner");
            var light = new SimulatedDevice("kitchen-light", SimulatedKind.Bulb, "kitchen", new EnvelopeSigner(home.Test.Identity("sim-owner")), home.Test.Verifier(), home.Test.Endpoint, TimeSpan.FromHours(1));
            home._owned.Add(light);
            await light.StartAsync();
            await registered.Within();
            home.Satellite = await home.Test.ClientAsync("kitchen-satellite");
            return home;
        }

        /// <summary>Speaks <paramref name="text"/> into a session and waits for the spoken reply; returns the trace id the transcript carried.</summary>
        public async Task<(VoiceSendResult Sent, string TraceId)> SayAsync(string text)
        {
            WavFile wav = _phrases[text];
            VoiceSendResult sent = await VoiceClient.SendAsync(Satellite, wav.Pcm, wav.SampleRate, wav.Channels,
                new VoiceSendOptions { DeviceId = "kitchen-satellite", ReceiveReplies = true, Timeout = TimeSpan.FromSeconds(60) });
            Assert.Null(sent.Error);
            Assert.Equal([text], _stt.Heard);
            string traceId = TraceContext.TraceIdOf(Assert.Single(sent.Transcripts).Envelope.Metadata);
            Assert.Matches("^[0-9a-f]{32}$", traceId);
            return (sent, traceId);
        }

        public async ValueTask DisposeAsync()
        {
            await Satellite.DisposeAsync();
            foreach (IAsyncDisposable owned in _owned) await owned.DisposeAsync();
            await Test.DisposeAsync();
            await Grok.DisposeAsync();
        }
    }
}
