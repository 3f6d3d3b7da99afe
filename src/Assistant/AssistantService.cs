using Alicia.Assistant.Actions;
using Alicia.Assistant.Intents;
using Alicia.Assistant.Llm;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Registry;
using Microsoft.Extensions.Logging;

namespace Alicia.Assistant;

/// <summary>
/// The assistant as an engine service: it listens for accepted transcripts and text requests, keeps the devices'
/// latest reported values (for sensor answers and command echoes), and runs the <see cref="CommandRouter"/>.
/// Starts after the registry, whose live index it reads.
/// </summary>
public sealed class AssistantService : IEngineService
{
    private readonly AssistantSettings _settings;
    private readonly RegistryService _registry;
    private readonly List<IAsyncDisposable> _subscriptions = [];
    private readonly CancellationTokenSource _stopping = new();
    private AliciaEngine? _engine;
    private TimerService? _timers;
    private readonly TimeProvider? _clock;
    private readonly ILoggerFactory? _loggers;

    /// <param name="clock">The assistant's own clock (timers, timeouts, the circuit breaker); the engine's when null. Tests pass a fake.</param>
    /// <param name="loggers">Where the assistant logs; the engine's logger factory when null.</param>
    internal AssistantService(AssistantSettings settings, RegistryService registry, TimeProvider? clock = null, ILoggerFactory? loggers = null)
    {
        _settings = settings;
        _registry = registry;
        _clock = clock;
        _loggers = loggers;
    }

    public string Name => "assistant";

    public IReadOnlyList<Type> StartsAfter { get; } = [typeof(RegistryService)];

    internal CommandRouter Router { get; private set; } = null!;
    internal DeviceStateCache Readings { get; } = new();
    internal LocalIntentEngine Intents { get; private set; } = null!;
    internal ConversationMemory Memory { get; private set; } = null!;
    internal LlmResponder Llm { get; private set; } = null!;

    public async Task StartAsync(AliciaEngine engine, CancellationToken cancellationToken)
    {
        _engine = engine;
        ILoggerFactory loggers = _loggers ?? engine.LoggerFactory;
        ILogger logger = loggers.CreateLogger<AssistantService>();
        if (!_settings.Enabled)
        {
            logger.LogInformation("Assistant off (Assistant:Enabled=false)");
            return;
        }
        TimeProvider clock = _clock ?? engine.Clock;
        Grammar grammar = Grammar.Load(_settings.Language, _settings.GrammarPath);
        AliciaBus Bus() => engine.Bus;
        Intents = new LocalIntentEngine(grammar, _registry.Registry, Readings, clock, _settings.DeviceNames);
        var commander = new DeviceCommander(Bus, _registry.Router, Readings, TimeSpan.FromMilliseconds(_settings.ConfirmTimeoutMs), clock,
            loggers.CreateLogger<DeviceCommander>());
        Memory = new ConversationMemory(_settings.MemoryMessages, _settings.MemoryConversations, clock, TimeSpan.FromMinutes(_settings.ForgetAfterMinutes));
        var grok = new GrokClient(_settings.Grok);
        var tools = new AssistantTools(Intents, commander, _registry.Router, Readings);
        var llm = Llm = new LlmResponder(grok, tools, Memory, grammar, clock, loggers.CreateLogger<LlmResponder>());
        _timers = new TimerService(clock);
        Router = new CommandRouter(Bus, _registry.Registry, Intents, commander, llm, Memory, _timers, clock, loggers.CreateLogger<CommandRouter>());

        _subscriptions.Add(await engine.Bus.SubscribeAsync<DeviceData>((m, _) =>
        {
            if (DeviceIdOf(m.Topic) is { } deviceId) Readings.Report(deviceId, m.Data.Values);
            return default;
        }, new SubscribeOptions { ReceiveAll = true }, cancellationToken: cancellationToken).ConfigureAwait(false));
        _subscriptions.Add(await engine.Bus.SubscribeAsync<SttResponse>(async (m, _) =>
        {
            if (m.Data.Status != "ok") return;
            using System.Diagnostics.Activity? span = AssistantTracing.StartRoute(m.Envelope.Metadata, "transcript");
            AssistantTracing.Routed(span, await Router.RouteAsync(Router.FromTranscript(m.Data), _stopping.Token).ConfigureAwait(false));
        }, new SubscribeOptions { ReceiveAll = true }, concurrency: 4, cancellationToken).ConfigureAwait(false));
        _subscriptions.Add(await engine.Bus.SubscribeAsync<AiRequest>(async (m, _) =>
        {
            using System.Diagnostics.Activity? span = AssistantTracing.StartRoute(m.Envelope.Metadata, "request");
            AssistantTracing.Routed(span, await Router.RouteAsync(Router.FromRequest(m.Data), _stopping.Token).ConfigureAwait(false));
        },
            new SubscribeOptions { ReceiveAll = true }, concurrency: 4, cancellationToken).ConfigureAwait(false));
        logger.LogInformation("Assistant: local intents ({Language}, {Intents} patterns), Grok {Grok}", grammar.Language,
            grammar.Intents.Sum(i => i.Patterns.Count), grok.IsConfigured ? $"at {_settings.Grok.BaseUrl} (model {_settings.Grok.Model})" : "not configured (open questions get the fallback reply)");
    }

    /// <summary><c>alicia/devices/{id}/data</c> → id.</summary>
    private static string? DeviceIdOf(string topic)
    {
        string[] parts = topic.Split('/');
        return parts.Length == 4 && parts[0] == "alicia" && parts[1] == "devices" && parts[3] == "data" ? parts[2] : null;
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        for (int i = _subscriptions.Count - 1; i >= 0; i--) await _subscriptions[i].DisposeAsync().ConfigureAwait(false);
        _timers?.Dispose();
        _stopping.Dispose();
    }
}
