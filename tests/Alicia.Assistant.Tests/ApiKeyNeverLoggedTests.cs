using System.Collections.Concurrent;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Microsoft.Extensions.Logging;

namespace Alicia.Assistant.Tests;

/// <summary>Everything the assistant logs (messages, scopes' owners and exceptions with their stacks), kept for inspection.</summary>
internal sealed class CollectingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Collector(categoryName, Lines);

    public void Dispose() { }

    private sealed class Collector(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull
        {
            lines.Enqueue($"{category} scope: {state}");
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {state} {exception}");
    }
}

/// <summary>
/// The Grok key goes into the Authorization header and nowhere else: not into any log line or exception logged, not
/// into a reply or a routing decision on the bus, even when the service fails or echoes the request's headers back.
/// </summary>
public sealed class ApiKeyNeverLoggedTests
{
    [Fact]
    public async Task The_key_appears_in_no_log_line_reply_or_route_through_answers_failures_and_an_echoing_error()
    {
        string key = "xai-" + Guid.NewGuid().ToString("n");
        var collector = new CollectingLoggerProvider();
        using var loggers = new LoggerFactory([collector]);
        await using AssistantHarness h = await AssistantHarness.StartAsync(s =>
        {
            s.Grok.ApiKey = key;
            s.Grok.BreakAfterFailures = 10; // every failure below reaches the server
        }, loggers: loggers);
        await h.HomeAsync("kitchen-light", "kitchen-satellite");
        var published = new ConcurrentQueue<string>();
        await using IAsyncDisposable replies = await h.Client.SubscribeAsync<AiResponse>((m, _) =>
        {
            published.Enqueue(m.Data.Text);
            return default;
        }, new SubscribeOptions { ReceiveAll = true });
        await using IAsyncDisposable routes = await h.Client.SubscribeAsync<VoiceCommandRoute>((m, _) =>
        {
            published.Enqueue(string.Join(' ', m.Data.Parameters.Select(p => p.Key + "=" + p.Value)) + " " + m.Data.Text);
            return default;
        }, new SubscribeOptions { ReceiveAll = true });

        Assert.Equal("The kitchen light is on.", (await h.TranscriptAsync("kitchen-satellite", "turn on the kitchen light")).Text);
        h.Grok.Then(FakeGrokReply.Text("A fake answer."));
        Assert.Equal("A fake answer.", (await h.TranscriptAsync("kitchen-satellite", "tell me a joke")).Text);
        foreach (FakeGrokMode mode in new[] { FakeGrokMode.ServerError, FakeGrokMode.EchoHeaders, FakeGrokMode.Garbled, FakeGrokMode.Truncated })
        {
            h.Grok.Then(FakeGrokReply.Failing(mode));
            Conversation failed = await h.TranscriptAsync("kitchen-satellite", "tell me a joke");
            Assert.Equal("fallback", failed.Route.Outcome);
        }
        // The failure with the echoed headers is still named (its HTTP status), without what the body repeated.
        Assert.Contains(collector.Lines, l => l.Contains("401", StringComparison.Ordinal));

        // The key did reach the server (so the echo carried it), and it was sent on every request.
        Assert.Equal(5, h.Grok.Calls);
        Assert.All(h.Grok.Authorizations, a => Assert.Equal("Bearer " + key, a));
        Assert.NotEmpty(collector.Lines);
        Assert.DoesNotContain(collector.Lines, l => l.Contains(key, StringComparison.Ordinal));
        Assert.DoesNotContain(collector.Lines, l => l.Contains(key[4..], StringComparison.Ordinal));
        Assert.DoesNotContain(published, p => p.Contains(key[4..], StringComparison.Ordinal));
    }
}
