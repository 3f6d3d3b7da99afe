using Alicia.Contracts.Messages;
using Alicia.Engine.Monitoring;

namespace Alicia.Web.Tests;

public sealed class HealthEvaluatorTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private readonly HealthEvaluator _evaluator = new(new MonitoringOptions());

    private static ComponentObservation Beat(string name, HealthStatus status = HealthStatus.Healthy, TimeSpan? age = null, int intervalMs = 1000,
        Dictionary<string, double>? metrics = null, Dictionary<string, HealthStatus>? dependencies = null, string kind = "service", bool? knownOffline = null) =>
        new(name, kind, new ServiceHealth { Service = name, Status = status, IntervalMs = intervalMs, Metrics = metrics ?? [], Dependencies = dependencies ?? [] },
            Now - (age ?? TimeSpan.Zero), KnownOffline: knownOffline);

    private static ComponentHealth Of(SystemHealth health, string name) => health.Components.Single(c => c.Name == name);

    [Fact]
    public void A_service_silent_for_two_intervals_is_offline_and_unhealthy()
    {
        SystemHealth health = _evaluator.Evaluate([Beat("fresh", age: TimeSpan.FromMilliseconds(1900)), Beat("silent", age: TimeSpan.FromMilliseconds(2100))], Now);
        Assert.True(Of(health, "fresh").Online);
        Assert.Equal(HealthStatus.Healthy, Of(health, "fresh").Status);
        Assert.False(Of(health, "silent").Online);
        Assert.Equal(HealthStatus.Unhealthy, Of(health, "silent").Status);
        Assert.StartsWith("offline", Of(health, "silent").Reason);
        Assert.Equal(HealthStatus.Unhealthy, health.Status);
    }

    [Fact]
    public void Thresholds_make_a_service_degraded_or_unhealthy_and_name_the_metric()
    {
        SystemHealth health = _evaluator.Evaluate([
            Beat("busy", metrics: new() { ["cpu_percent"] = 90, ["memory_percent"] = 10 }),
            Beat("failing", metrics: new() { ["error_rate"] = 0.3 }),
            Beat("slow", metrics: new() { ["response_ms"] = 600 }),
            Beat("fine", metrics: new() { ["cpu_percent"] = 10, ["response_ms"] = 5, ["error_rate"] = 0 }),
        ], Now);
        Assert.Equal(HealthStatus.Degraded, Of(health, "busy").Status);
        Assert.Contains("cpu 90%", Of(health, "busy").Reason);
        Assert.Equal(90, Of(health, "busy").CpuPercent);
        Assert.Equal(HealthStatus.Unhealthy, Of(health, "failing").Status);
        Assert.Contains("error rate", Of(health, "failing").Reason);
        Assert.Equal(HealthStatus.Degraded, Of(health, "slow").Status);
        Assert.Equal(HealthStatus.Healthy, Of(health, "fine").Status);
        Assert.Equal("", Of(health, "fine").Reason);
    }

    [Fact]
    public void A_service_whose_dependency_is_down_is_degraded_and_says_which()
    {
        SystemHealth health = _evaluator.Evaluate([
            Beat("tts", dependencies: new() { ["speaker-hub"] = HealthStatus.Healthy }),
            Beat("speaker-hub", age: TimeSpan.FromSeconds(10)),
            Beat("router", dependencies: new() { ["llm"] = HealthStatus.Unhealthy }),
            Beat("stt", dependencies: new() { ["tts"] = HealthStatus.Healthy }),
        ], Now);
        Assert.Equal(HealthStatus.Degraded, Of(health, "tts").Status);
        Assert.Equal("dependency 'speaker-hub' is down", Of(health, "tts").Reason);
        // An unknown dependency counts as the service reports it.
        Assert.Equal(HealthStatus.Degraded, Of(health, "router").Status);
        Assert.Contains("'llm'", Of(health, "router").Reason);
        // Only a dependency that is down degrades: tts is degraded, not down.
        Assert.Equal(HealthStatus.Healthy, Of(health, "stt").Status);
    }

    [Fact]
    public void An_offline_device_degrades_the_system_but_does_not_make_it_unhealthy()
    {
        SystemHealth health = _evaluator.Evaluate([Beat("engine", kind: "engine"), Beat("bulb", kind: "device", knownOffline: true), Beat("plug", kind: "device", age: TimeSpan.FromHours(1), knownOffline: false)], Now);
        Assert.False(Of(health, "bulb").Online);
        // The registry says the plug is alive: its liveness is the registry's call, not the heartbeat age's.
        Assert.True(Of(health, "plug").Online);
        Assert.Equal(HealthStatus.Degraded, health.Status);
    }

    [Fact]
    public void Queue_fill_is_read_from_depth_and_capacity()
    {
        SystemHealth health = _evaluator.Evaluate([Beat("stt", metrics: new() { ["queue_depth"] = 9, ["queue_capacity"] = 10 }), Beat("tts")], Now);
        Assert.Equal(0.9, Of(health, "stt").QueueFill, 3);
        Assert.Equal(-1, Of(health, "tts").QueueFill);
    }
}
