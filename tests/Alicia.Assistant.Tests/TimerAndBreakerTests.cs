using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Microsoft.Extensions.Time.Testing;

namespace Alicia.Assistant.Tests;

/// <summary>
/// What happens later, on the assistant's clock (a <see cref="FakeTimeProvider"/>; the engine and the bus keep real
/// time): a spoken timer that fires, and the Grok circuit breaker that opens after repeated failures and closes again.
/// </summary>
public sealed class TimerAndBreakerTests
{
    private const string Fallback = "I can't reach my assistant service right now, but I can still control your devices.";

    [Fact]
    public async Task A_five_minute_timer_fires_when_the_clock_reaches_it_and_the_satellite_hears_it()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using AssistantHarness h = await AssistantHarness.StartAsync(clock: clock);
        await h.HomeAsync("kitchen-satellite");
        var done = new TaskCompletionSource<AiResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IAsyncDisposable replies = await h.Client.SubscribeAsync<AiResponse>((m, _) =>
        {
            if (m.Data.Intent == "timer_done") done.TrySetResult(m.Data);
            return default;
        }, new SubscribeOptions { ReceiveAll = true });

        Conversation set = await h.TranscriptAsync("kitchen-satellite", "set a timer for 5 minutes");
        Assert.Equal("Timer set for 5 minutes.", set.Text);
        string session = set.Pieces[0].SessionId;

        // A second short of five minutes: not yet. A later reply of the same assistant arrives and the timer has not spoken.
        clock.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
        Conversation between = await h.TranscriptAsync("kitchen-satellite", "what time is it");
        Assert.Equal("local_intent", between.Route.Source);
        Assert.False(done.Task.IsCompleted);

        clock.Advance(TimeSpan.FromSeconds(1));
        AiResponse fired = await done.Task.WaitAsync(Waits.Long);
        Assert.Equal("Your timer for 5 minutes is done.", fired.Text);
        Assert.Equal((session, "kitchen", "kitchen-satellite"), (fired.SessionId, fired.Room, fired.DeviceId));
        Assert.True(fired.IsFinal);
        Assert.Equal(ReplySource.LocalIntent, fired.Source);

        // Fired once: "cancel the timer" finds none running.
        Conversation cancel = await h.TranscriptAsync("kitchen-satellite", "cancel the timer");
        Assert.Equal("There's no timer running.", cancel.Text);
    }

    [Fact]
    public async Task A_cancelled_timer_never_fires()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using AssistantHarness h = await AssistantHarness.StartAsync(clock: clock);
        await h.HomeAsync("kitchen-satellite");
        int fired = 0;
        await using IAsyncDisposable replies = await h.Client.SubscribeAsync<AiResponse>((m, _) =>
        {
            if (m.Data.Intent == "timer_done") Interlocked.Increment(ref fired);
            return default;
        }, new SubscribeOptions { ReceiveAll = true });

        await h.TranscriptAsync("kitchen-satellite", "set a timer for 2 minutes");
        Assert.Equal("Timer cancelled.", (await h.TranscriptAsync("kitchen-satellite", "cancel the timer")).Text);
        clock.Advance(TimeSpan.FromMinutes(3));
        // A reply published after the advance arrives; a timer that fired during it would have published first.
        await h.TranscriptAsync("kitchen-satellite", "what time is it");
        Assert.Equal(0, Volatile.Read(ref fired));
    }

    [Fact]
    public async Task After_repeated_failures_the_breaker_opens_spares_the_server_and_closes_after_the_break()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using AssistantHarness h = await AssistantHarness.StartAsync(s =>
        {
            s.Grok.BreakAfterFailures = 3;
            s.Grok.BreakSeconds = 30;
        }, clock);
        await h.HomeAsync("kitchen-satellite");
        h.Grok.Default = FakeGrokReply.Failing(FakeGrokMode.ServerError);

        for (int i = 1; i <= 3; i++)
        {
            Conversation failed = await h.TranscriptAsync("kitchen-satellite", "tell me a joke");
            Assert.Equal(Fallback, failed.Text);
            Assert.Equal(i, h.Grok.Calls);
        }

        // Open: the next questions get the fallback at once and no request reaches the server.
        for (int i = 0; i < 2; i++)
        {
            Conversation open = await h.TranscriptAsync("kitchen-satellite", "what is the meaning of life");
            Assert.Equal(Fallback, open.Text);
            Assert.Equal("the circuit is open after repeated failures", open.Route.Parameters["reason"]);
        }
        Assert.Equal(3, h.Grok.Calls);
        // Local intents do not depend on the breaker.
        Assert.Equal("local_intent", (await h.TranscriptAsync("kitchen-satellite", "what time is it")).Route.Source);

        // The service recovers; a second before the break ends the circuit is still open.
        h.Grok.Default = FakeGrokReply.Text("Forty-two. ", "That is the answer.");
        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(Fallback, (await h.TranscriptAsync("kitchen-satellite", "what is the meaning of life")).Text);
        Assert.Equal(3, h.Grok.Calls);

        clock.Advance(TimeSpan.FromSeconds(1));
        Conversation probe = await h.TranscriptAsync("kitchen-satellite", "what is the meaning of life");
        Assert.Equal("Forty-two. That is the answer.", probe.Text);
        Assert.Equal(4, h.Grok.Calls);
        // The router's own work (until the request leaves) and the first byte are stamped apart.
        Assert.True(probe.Route.Timings.ContainsKey("llm_request_ms") && probe.Route.Timings.ContainsKey("llm_first_byte_ms"));
        // Closed again: the following question goes to the server too.
        Assert.Equal("llm", (await h.TranscriptAsync("kitchen-satellite", "tell me a joke")).Route.Source);
        Assert.Equal(5, h.Grok.Calls);
    }
}
