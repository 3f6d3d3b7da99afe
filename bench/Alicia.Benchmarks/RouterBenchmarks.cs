using Alicia.Assistant;
using Alicia.Assistant.Actions;
using Alicia.Assistant.Intents;
using Alicia.Assistant.Llm;
using Alicia.Assistant.Replies;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Registry;
using Alicia.Tools.Simulation;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alicia.Benchmarks;

/// <summary>
/// The assistant's CPU work without a broker, for the CI allocation gate: the local intent decision and the router's
/// work before the LLM request, on the objects <see cref="AssistantService"/> builds (grammar, registry with the
/// kitchen light, intents, memory, LLM responder, router). Neither path touches the bus or the network, so they are
/// the same code <see cref="AssistantBenchmarks"/> times beside a real broker and simulated bulb.
/// Run: dotnet run -c Release --project bench/Alicia.Benchmarks -- --filter '*RouterBenchmarks*' --job short
/// </summary>
[MemoryDiagnoser]
public class RouterBenchmarks
{
    private DeviceRegistry _registry = null!;
    private LocalIntentEngine _intents = null!;
    private LlmResponder _llm = null!;
    private CommandRouter _router = null!;
    private TimerService _timers = null!;

    [GlobalSetup]
    public void Setup()
    {
        var settings = new AssistantSettings();
        settings.Grok.BaseUrl = "http://127.0.0.1:9/v1"; // configured, never called: Prepare builds the request only
        settings.Grok.ApiKey = "bench-key";
        TimeProvider clock = TimeProvider.System;
        _registry = new DeviceRegistry(null);
        DeviceRegistration bulb = SimulatedDevice.Describe("kitchen-light", SimulatedKind.Bulb, "kitchen");
        Fixtures.Require(_registry.Register(bulb, "bench").Accepted, "the bulb was not registered");
        var router = new CapabilityRouter(_registry);
        var readings = new DeviceStateCache();
        Grammar grammar = Grammar.Load(settings.Language, settings.GrammarPath);
        _intents = new LocalIntentEngine(grammar, _registry, readings, clock, settings.DeviceNames);
        static AliciaBus NoBus() => throw new InvalidOperationException("the measured paths publish nothing");
        var commander = new DeviceCommander(NoBus, router, readings, TimeSpan.FromMilliseconds(settings.ConfirmTimeoutMs), clock, NullLogger.Instance);
        var memory = new ConversationMemory(settings.MemoryMessages, settings.MemoryConversations, clock, TimeSpan.FromMinutes(settings.ForgetAfterMinutes));
        _llm = new LlmResponder(new GrokClient(settings.Grok), new AssistantTools(_intents, commander, router, readings), memory, grammar, clock, NullLogger.Instance);
        _timers = new TimerService(clock);
        _router = new CommandRouter(NoBus, _registry, _intents, commander, _llm, memory, _timers, clock, NullLogger.Instance);
        Fixtures.Require(_intents.Decide("turn on the kitchen light", "kitchen").Kind == DecisionKind.DeviceCommand, "the golden command did not match locally");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _timers.Dispose();
        _registry.Dispose();
    }

    [Benchmark]
    public int Local_intent_decision() => (int)_intents.Decide("turn on the kitchen light", "kitchen").Kind;

    /// <summary>As <see cref="AssistantBenchmarks.Router_overhead_before_the_LLM_request"/>: no local match, then the conversation for the model.</summary>
    [Benchmark]
    public int Router_overhead_before_the_LLM_request()
    {
        RouteRequest request = _router.FromRequest(new AiRequest { SessionId = "bench", Text = "what is the capital of France", Context = { ["room"] = "kitchen" } });
        LocalDecision decision = _intents.Decide(request.Text, request.Room);
        if (decision.Kind != DecisionKind.NoMatch) throw new InvalidOperationException("an open question matched " + decision.Intent);
        return _llm.Prepare(request).Count;
    }
}
