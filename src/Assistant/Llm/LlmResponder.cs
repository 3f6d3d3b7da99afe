using System.ClientModel;
using Alicia.Assistant.Intents;
using Alicia.Assistant.Replies;
using Alicia.Contracts.Messages;
using Microsoft.Extensions.Logging;
using OpenAI.Chat;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Alicia.Assistant.Llm;

/// <summary>
/// What no local intent matched goes to Grok: the home's devices in the system prompt and as tools, the room's short
/// conversation memory, the reply streamed sentence by sentence as tokens arrive. Resilience (Polly): a total timeout, a
/// circuit breaker, and a first-byte deadline; when the service is unconfigured, unreachable, slow or garbled, the user
/// hears the spoken fallback reply instead, within the first-byte deadline.
/// </summary>
internal sealed class LlmResponder
{
    private readonly GrokClient _client;
    private readonly AssistantTools _tools;
    private readonly ConversationMemory _memory;
    private readonly Grammar _grammar;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _pipeline;

    public LlmResponder(GrokClient client, AssistantTools tools, ConversationMemory memory, Grammar grammar, TimeProvider clock, ILogger logger)
    {
        _client = client;
        _tools = tools;
        _memory = memory;
        _grammar = grammar;
        _clock = clock;
        _logger = logger;
        GrokSettings s = client.Settings;
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = clock }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = 1.0,
                MinimumThroughput = s.BreakAfterFailures,
                SamplingDuration = TimeSpan.FromMinutes(1),
                BreakDuration = TimeSpan.FromSeconds(s.BreakSeconds),
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException),
            })
            .AddTimeout(TimeSpan.FromMilliseconds(s.TotalTimeoutMs))
            .Build();
    }

    /// <summary>Answers <paramref name="request"/> through <paramref name="reply"/>; the route says whether the model or the fallback answered.</summary>
    public async Task<VoiceCommandRoute> RespondAsync(RouteRequest request, ReplyWriter reply, Func<VoiceCommandRoute, Task> publishToolRoute, CancellationToken cancellationToken)
    {
        string key = ConversationMemory.KeyOf(request.Room, request.SessionId);
        var route = new VoiceCommandRoute { Intent = "llm", Source = "llm", Outcome = "llm", Fallback = "llm", Location = request.Room };
        if (!_client.IsConfigured)
            return await FallbackAsync(reply, route, "the assistant service is not configured (Assistant:Grok:ApiKey)", cancellationToken).ConfigureAwait(false);

        List<ChatMessage> messages = Prepare(request);
        // The router's own work ends here; what follows is the HTTP round trip (timings: llm_request_ms vs llm_first_byte_ms).
        reply.Mark("llm_request_ms");
        using System.Diagnostics.Activity? span = AssistantTracing.StartLlm(_client.Settings.Model);
        var splitter = new SentenceSplitter();
        try
        {
            await _pipeline.ExecuteAsync(async ct => await ConverseAsync(request, reply, messages, splitter, publishToolRoute, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            await reply.FinalAsync(splitter.Flush(), ReplySource.Llm, "llm", cancellationToken).ConfigureAwait(false);
            _memory.Remember(key, request.Text, reply.Spoken);
            return route;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            string why = e switch
            {
                BrokenCircuitException => "the circuit is open after repeated failures",
                TimeoutRejectedException => "no complete answer within the total timeout",
                // An HTTP error's message carries the response body, which a proxy may fill with the request's headers (the key).
                ClientResultException { Status: 0, InnerException: { } inner } => $"{inner.GetType().Name}: {inner.Message}",
                ClientResultException http => $"the assistant service answered HTTP {http.Status}",
                _ => $"{e.GetType().Name}: {e.Message}",
            };
            why = Redact(why);
            return await FallbackAsync(reply, route, why, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The key never leaves in a reason (logged and published): whatever text repeats it gets it masked.</summary>
    private string Redact(string text)
    {
        string key = _client.Settings.ApiKey;
        return key.Length >= 4 ? text.Replace(key, "[key]", StringComparison.Ordinal) : text;
    }

    /// <summary>The conversation sent to the model: the system prompt with the home's devices, the room's memory, the question.</summary>
    internal List<ChatMessage> Prepare(RouteRequest request)
    {
        var messages = new List<ChatMessage> { new SystemChatMessage(SystemPrompt(request)) };
        foreach (Remembered m in _memory.Recall(ConversationMemory.KeyOf(request.Room, request.SessionId)))
            messages.Add(m.Role == "user" ? new UserChatMessage(m.Text) : new AssistantChatMessage(m.Text));
        messages.Add(new UserChatMessage(request.Text));
        return messages;
    }

    private async Task<VoiceCommandRoute> FallbackAsync(ReplyWriter reply, VoiceCommandRoute route, string why, CancellationToken cancellationToken)
    {
        _logger.LogWarning("Assistant service unavailable ({Reason}): fallback reply", why);
        route.Source = "fallback";
        route.Outcome = "fallback";
        route.Fallback = "fallback_reply";
        route.Parameters["reason"] = why;
        reply.Mark("fallback_ms");
        // A reply already under way is ended with an apology; one that never started gets the whole fallback sentence.
        string text = _grammar.Reply(reply.Pieces > 0 ? "broken" : "fallback");
        await reply.FinalAsync(text, ReplySource.Fallback, "fallback", cancellationToken, isFixedPhrase: true).ConfigureAwait(false);
        return route;
    }

    private async Task ConverseAsync(RouteRequest request, ReplyWriter reply, List<ChatMessage> messages, SentenceSplitter splitter,
        Func<VoiceCommandRoute, Task> publishToolRoute, CancellationToken cancellationToken)
    {
        GrokSettings s = _client.Settings;
        for (int round = 0; ; round++)
        {
            ModelTurn turn;
            using (var firstByte = new CancellationTokenSource(TimeSpan.FromMilliseconds(s.FirstByteTimeoutMs), _clock))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, firstByte.Token))
            {
                try
                {
                    turn = await _client.StreamTurnAsync(messages, round < s.MaxToolRounds ? AssistantTools.Definitions : [],
                        async text =>
                        {
                            foreach (string sentence in splitter.Append(text)) await reply.SentenceAsync(sentence, ReplySource.Llm, "llm", cancellationToken).ConfigureAwait(false);
                        },
                        () =>
                        {
                            firstByte.CancelAfter(Timeout.InfiniteTimeSpan);
                            reply.Mark("llm_first_byte_ms");
                        }, linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (firstByte.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException($"no answer from the assistant service within {s.FirstByteTimeoutMs} ms");
                }
            }
            if (turn.ToolCalls.Count == 0) return;
            messages.Add(new AssistantChatMessage(turn.ToolCalls.Select(c => ChatToolCall.CreateFunctionToolCall(c.Id, c.Name, BinaryData.FromString(c.Arguments.Length > 0 ? c.Arguments : "{}")))));
            foreach (ModelToolCall call in turn.ToolCalls)
            {
                ToolResult result = await _tools.ExecuteAsync(call, request.Room, request.RequestedBy, cancellationToken).ConfigureAwait(false);
                result.Route.SessionId = request.SessionId;
                result.Route.ReplyId = reply.ReplyId;
                result.Route.Text = request.Text;
                await publishToolRoute(result.Route).ConfigureAwait(false);
                messages.Add(new ToolChatMessage(call.Id, result.Json));
            }
        }
    }

    private string SystemPrompt(RouteRequest request) =>
        $"""
        You are Alicia, a home voice assistant. Your answers are spoken aloud: short plain sentences, no lists, no markdown.
        Language: {request.Language}. The person speaking is in room '{(request.Room.Length > 0 ? request.Room : "unknown")}'.
        Use the tools to act on devices or read sensors; say something was done only when the tool result confirms it.
        If a tool returns an error, tell the person plainly what went wrong.
        Devices (id, room, capabilities, spoken name):
        {_tools.DescribeHome()}
        """;
}
