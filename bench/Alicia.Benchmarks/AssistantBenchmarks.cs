using Alicia.Assistant;
using Alicia.Assistant.Intents;
using Alicia.Assistant.Replies;
using Alicia.Contracts.Messages;
using Alicia.Engine.Hosting;
using Alicia.Engine.Registry;
using Alicia.Engine.Security;
using Alicia.TestSupport;
using Alicia.Tools.Simulation;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;

namespace Alicia.Benchmarks;

/// <summary>
/// The assistant's command path with the real embedded broker, registry and a simulated bulb (its own MQTT connection):
/// the local intent decision alone; a transcript until the device has received its signed command; a transcript until
/// the device's echo has confirmed it (and the reply is published); an open question answered by the fake Grok server
/// on 127.0.0.1 (routing, HTTP, SSE parse, reply). Run: dotnet run -c Release --project bench/Alicia.Benchmarks -- --filter '*Assistant*'
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Percentiles))]
public class AssistantBenchmarks
{
    private sealed class Percentiles : ManualConfig
    {
        public Percentiles() => AddColumn(StatisticColumn.P50, StatisticColumn.P95, StatisticColumn.Max);
    }

    private TestEngine _test = null!;
    private AssistantService _assistant = null!;
    private SimulatedDevice _bulb = null!;
    private FakeGrokServer _grok = null!;
    private TaskCompletionSource _commanded = new();
    private bool _on;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _grok = new FakeGrokServer { Default = FakeGrokReply.Text("Paris is the capital of France. ", "It is on the Seine.") };
        var settings = new AssistantSettings { ConfirmTimeoutMs = 5000 };
        settings.Grok.BaseUrl = _grok.BaseUrl;
        settings.Grok.ApiKey = "bench-key";
        RegistryService registry = null!;
        _test = await TestEngine.StartAsync(services: e =>
        {
            e.AddService(registry = new RegistryService(new RegistryOptions()));
            e.AddService(_assistant = new AssistantService(settings, registry));
        });
        var live = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        registry.Registry.Changed += c => { if (c.Device.DeviceId == "kitchen-light" && c.Device.IsLive) live.TrySetResult(); };
        _bulb = new SimulatedDevice("kitchen-light", SimulatedKind.Bulb, "kitchen", new EnvelopeSigner(_test.Identity("sim-owner")), _test.Verifier(), _test.Endpoint, TimeSpan.FromHours(1));
        _bulb.Registration.Capabilities.Constraints.RateLimit = ""; // measure the path, not the bulb's 20/second limit
        _bulb.CommandReceived += (_, _) => _commanded.TrySetResult();
        await _bulb.StartAsync();
        await live.Task.WaitAsync(TimeSpan.FromSeconds(15));
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _bulb.DisposeAsync();
        await _test.DisposeAsync();
        await _grok.DisposeAsync();
    }

    private RouteRequest Request(string text) => _assistant.Router.FromRequest(new AiRequest { SessionId = "bench", Text = text, Context = { ["room"] = "kitchen" } });

    private string NextCommand() => (_on = !_on) ? "turn on the kitchen light" : "turn off the kitchen light";

    [Benchmark]
    public int Local_intent_decision() => (int)_assistant.Intents.Decide("turn on the kitchen light", "kitchen").Kind;

    [Benchmark]
    public async Task Transcript_to_command_received_by_the_device()
    {
        _commanded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task routed = _assistant.Router.RouteAsync(Request(NextCommand()), CancellationToken.None);
        await _commanded.Task;
        await routed; // not timed apart: the next iteration must not overlap this one's echo
    }

    [Benchmark]
    public async Task<string> Transcript_to_echo_confirmed()
    {
        VoiceCommandRoute route = await _assistant.Router.RouteAsync(Request(NextCommand()), CancellationToken.None);
        return route.Outcome == "confirmed" ? route.Outcome : throw new InvalidOperationException(route.Outcome + ": " + string.Join(",", route.DeviceOutcomes.Values));
    }

    /// <summary>
    /// The router's work before the first LLM byte, without the HTTP round trip: the local intents find no match, and
    /// the conversation for the model (system prompt with the home's devices, memory, question) is built. Live, the same
    /// span is stamped as <c>llm_request_ms</c> in the route's timings, beside <c>llm_first_byte_ms</c>.
    /// </summary>
    [Benchmark]
    public int Router_overhead_before_the_LLM_request()
    {
        RouteRequest request = Request("what is the capital of France");
        LocalDecision decision = _assistant.Intents.Decide(request.Text, request.Room);
        if (decision.Kind != DecisionKind.NoMatch) throw new InvalidOperationException("an open question matched " + decision.Intent);
        return _assistant.Llm.Prepare(request).Count;
    }

    [Benchmark]
    public async Task<string> Open_question_answered_by_the_local_grok_server()
    {
        VoiceCommandRoute route = await _assistant.Router.RouteAsync(Request("what is the capital of France"), CancellationToken.None);
        return route.Source == "llm" ? route.Source : throw new InvalidOperationException(route.Outcome + ": " + route.Parameters.GetValueOrDefault("reason"));
    }
}
