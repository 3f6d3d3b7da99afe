using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;

namespace Alicia.Web.Tests;

public sealed class MonitoringServiceTests : IClassFixture<ObservedEngine>
{
    private readonly ObservedEngine _engine;

    public MonitoringServiceTests(ObservedEngine engine) => _engine = engine;

    [Fact]
    public async Task Heartbeats_are_judged_with_their_dependencies_and_a_health_request_over_the_bus_answers()
    {
        await using AliciaBus tts = await _engine.Test.ClientAsync("tts");
        await using AliciaBus speakers = await _engine.Test.ClientAsync("speaker-hub");
        await using AliciaBus asker = await _engine.Test.ClientAsync("ops");
        await speakers.PublishAsync(new ServiceHealth { Service = "speaker-hub", Status = HealthStatus.Unhealthy, IntervalMs = 60_000 });
        // Someone else's heartbeat for tts is ignored: a component speaks only for itself.
        await speakers.PublishAsync(new ServiceHealth { Service = "tts", Status = HealthStatus.Unhealthy, IntervalMs = 60_000 });
        await tts.PublishAsync(new ServiceHealth
        {
            Service = "tts", Status = HealthStatus.Healthy, IntervalMs = 60_000,
            Metrics = new() { ["cpu_percent"] = 12.5, ["response_ms"] = 40 },
            Dependencies = new() { ["speaker-hub"] = HealthStatus.Healthy },
        });

        HealthReport report = await Eventually(async () =>
        {
            BusMessage<HealthReport> answer = await asker.RequestAsync<HealthRequest, HealthReport>(new HealthRequest { Component = "tts" }, _engine.Engine.Name);
            return answer.Data.Status == 200 && answer.Data.Health.Components[0].Status == HealthStatus.Degraded ? answer.Data : null;
        });
        ComponentHealth component = Assert.Single(report.Health.Components);
        Assert.Equal("dependency 'speaker-hub' is down", component.Reason);
        Assert.Equal(12.5, component.CpuPercent);
        Assert.Equal(40, component.ResponseMs);

        BusMessage<HealthReport> missing = await asker.RequestAsync<HealthRequest, HealthReport>(new HealthRequest { Component = "no-such-thing" }, _engine.Engine.Name);
        Assert.Equal(404, missing.Data.Status);

        BusMessage<HealthReport> all = await asker.RequestAsync<HealthRequest, HealthReport>(new HealthRequest(), _engine.Engine.Name);
        Assert.Contains(all.Data.Health.Components, c => c.Name == _engine.Engine.Name && c.Kind == "engine" && c.Status == HealthStatus.Healthy);
        Assert.Contains(all.Data.Health.Components, c => c.Name == "registry" && c.Kind == "service");
        Assert.Equal(HealthStatus.Unhealthy, all.Data.Health.Status);
    }

    [Fact]
    public async Task The_system_state_is_retained_so_a_late_subscriber_gets_it_at_once()
    {
        await using AliciaBus late = await _engine.Test.ClientAsync("late-watcher");
        var state = new TaskCompletionSource<SystemHealth>(TaskCreationOptions.RunContinuationsAsynchronously);
        await late.SubscribeAsync<SystemHealth>((m, _) => { state.TrySetResult(m.Data); return default; });
        SystemHealth received = await state.Within();
        Assert.True(received.Version >= 1);
        Assert.Contains(received.Components, c => c.Kind == "engine");
    }

    [Fact]
    public async Task A_voice_request_over_budget_raises_an_event_naming_the_stage_that_used_the_time()
    {
        await using AliciaBus watcher = await _engine.Test.ClientAsync("budget-watcher");
        await using AliciaBus voice = await _engine.Test.ClientAsync("voice-node");
        var breach = new TaskCompletionSource<BudgetExceeded>(TaskCreationOptions.RunContinuationsAsynchronously);
        await watcher.SubscribeAsync<BudgetExceeded>((m, _) => { breach.TrySetResult(m.Data); return default; });
        // The transcript the voice service publishes, with the stage timings it measured (here a slow decoder).
        await voice.PublishAsync(new SttResponse
        {
            SessionId = "budget-session", DeviceId = "satellite-1", Text = "turn on the light",
            Timings = new() { ["vad_endpoint_ms"] = 120, ["stt_queue_ms"] = 5, ["stt_ms"] = 610, ["end_of_speech_to_result_ms"] = 740 },
        });
        BudgetExceeded seen = await breach.Within();
        Assert.Equal(("voice", "stt", 500.0, 740.0, 610.0), (seen.Budget, seen.Stage, seen.BudgetMs, seen.ElapsedMs, seen.StageMs));
        Assert.Equal(120, seen.Stages["vad_endpoint"]);
        Assert.Contains(_engine.Monitoring.Traces, t => t.SessionId == "budget-session" && t.Stages.Count == 3);
    }

    private static async Task<T> Eventually<T>(Func<Task<T?>> attempt) where T : class
    {
        // Bounded: the heartbeats are judged on arrival, so a few round trips are enough; the wait is a request, not a sleep.
        for (int i = 0; i < 200; i++)
        {
            if (await attempt() is { } result) return result;
        }
        throw new TimeoutException("the condition did not hold after 200 requests");
    }
}
