using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using OpenAI;
using OpenAI.Chat;

namespace Alicia.Assistant.Llm;

/// <summary>One tool call the model made, its streamed pieces joined.</summary>
internal sealed record ModelToolCall(string Id, string Name, string Arguments);

/// <summary>What one streamed turn of the model produced: its text, and the tool calls it wants answered first.</summary>
internal sealed record ModelTurn(string Text, IReadOnlyList<ModelToolCall> ToolCalls);

/// <summary>
/// Grok through xAI's OpenAI-compatible chat completions API (the OpenAI .NET SDK, streamed): base URL, model and key
/// from the settings (the key goes only into the Authorization header; it is never logged). The SDK's own retries are
/// off: the responder's resilience pipeline decides, and a reply must fall back within two seconds.
/// </summary>
internal sealed class GrokClient
{
    private readonly ChatClient? _client;

    public GrokClient(GrokSettings settings)
    {
        Settings = settings;
        if (!settings.IsConfigured) return;
        var options = new OpenAIClientOptions
        {
            Endpoint = new Uri(settings.BaseUrl),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromMilliseconds(settings.TotalTimeoutMs),
        };
        _client = new ChatClient(settings.Model, new ApiKeyCredential(settings.ApiKey), options);
    }

    public GrokSettings Settings { get; }

    public bool IsConfigured => _client is not null;

    /// <summary>
    /// Streams one turn: <paramref name="onText"/> gets each piece of text as it arrives, <paramref name="onFirstByte"/>
    /// runs at the first update of the stream; tool-call pieces are joined by their index.
    /// </summary>
    public async Task<ModelTurn> StreamTurnAsync(IReadOnlyList<ChatMessage> messages, IReadOnlyList<ChatTool> tools, Func<string, ValueTask> onText,
        Action onFirstByte, CancellationToken cancellationToken)
    {
        ChatClient client = _client ?? throw new InvalidOperationException("the assistant service (Grok) is not configured");
        var options = new ChatCompletionOptions { MaxOutputTokenCount = Settings.MaxOutputTokens };
        foreach (ChatTool tool in tools) options.Tools.Add(tool);
        var text = new StringBuilder();
        var calls = new SortedDictionary<int, (string Id, string Name, StringBuilder Arguments)>();
        bool first = true, finished = false;
        await foreach (StreamingChatCompletionUpdate update in client.CompleteChatStreamingAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            if (first)
            {
                first = false;
                onFirstByte();
            }
            if (update.FinishReason is not null) finished = true;
            foreach (ChatMessageContentPart part in update.ContentUpdate)
            {
                if (string.IsNullOrEmpty(part.Text)) continue;
                text.Append(part.Text);
                await onText(part.Text).ConfigureAwait(false);
            }
            foreach (StreamingChatToolCallUpdate call in update.ToolCallUpdates)
            {
                if (!calls.TryGetValue(call.Index, out var pending)) pending = ("", "", new StringBuilder());
                if (!string.IsNullOrEmpty(call.ToolCallId)) pending.Id = call.ToolCallId;
                if (!string.IsNullOrEmpty(call.FunctionName)) pending.Name = call.FunctionName;
                if (call.FunctionArgumentsUpdate is { } args && !args.ToMemory().IsEmpty) pending.Arguments.Append(args.ToString());
                calls[call.Index] = pending;
            }
        }
        if (first) throw new InvalidDataException("the assistant service answered with an empty stream");
        // A stream cut short (no finish reason) is a broken answer, not a short one.
        if (!finished) throw new InvalidDataException("the assistant service's stream ended before the answer was finished");
        return new ModelTurn(text.ToString(), [.. calls.Values.Select((c, i) => new ModelToolCall(c.Id.Length > 0 ? c.Id : $"call_{i}", c.Name, c.Arguments.ToString()))]);
    }
}
