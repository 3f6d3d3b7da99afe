using Alicia.Contracts.Messages;
using Alicia.Engine.Registry;
using Microsoft.Extensions.Time.Testing;

namespace Alicia.Registry.Tests;

/// <summary>Capability routing: place, liveness, round-robin, constraints, fallback and clear errors.</summary>
public sealed class RouterTests
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly DeviceRegistry _registry;
    private readonly CapabilityRouter _router;

    public RouterTests()
    {
        _registry = new DeviceRegistry(null, clock: _clock);
        _router = new CapabilityRouter(_registry, _clock);
    }

    [Fact]
    public void Light_in_living_room_resolves_to_the_live_device_there()
    {
        _registry.Register(Registrations.Bulb("lr-bulb", "living_room"), "me");
        _registry.Register(Registrations.Bulb("k-bulb", "kitchen"), "me");

        RouteDecision d = _router.Resolve("light", "living_room");

        Assert.Equal(200, d.Status);
        Assert.Equal(["lr-bulb"], d.Devices.Select(x => x.DeviceId));
        Assert.Equal("none", d.FallbackUsed);
        Assert.Equal(1, _registry.Metrics.Routed);
    }

    [Fact]
    public void With_the_device_offline_the_caller_gets_a_clear_error_or_the_fallback_it_allowed()
    {
        _registry.Register(Registrations.Speaker("k-speaker", "kitchen"), "me");
        _registry.Register(Registrations.Speaker("o-speaker", "office"), "me");
        _registry.Birth("k-speaker", "me", DeviceState.Online, 1);
        _registry.Death("k-speaker", 1);

        RouteDecision none = _router.Resolve("audio_playback", "kitchen", RouteFallback.None);
        RouteDecision elsewhere = _router.Resolve("audio_playback", "kitchen", RouteFallback.AnyLocation);
        RouteDecision unknown = _router.Resolve("teleport", "kitchen");
        RouteDecision noneHere = _router.Resolve("audio_playback", "garage");

        Assert.Equal(503, none.Status);
        Assert.Contains("no live device with 'audio_playback' in 'kitchen' (1 registered, all offline)", none.Reason);
        Assert.Equal(200, elsewhere.Status);
        Assert.Equal(["o-speaker"], elsewhere.Devices.Select(x => x.DeviceId));
        Assert.Equal("any_location", elsewhere.FallbackUsed);
        Assert.Equal("office", elsewhere.Location);
        Assert.Equal(404, unknown.Status);
        Assert.Contains("no registered device has capability 'teleport'", unknown.Reason);
        Assert.Equal(404, noneHere.Status);
        Assert.Equal(1, _registry.Metrics.Fallbacks);
    }

    [Fact]
    public void Live_instances_of_a_service_share_requests_round_robin_and_a_dead_one_is_skipped()
    {
        foreach (string id in new[] { "stt-1", "stt-2", "stt-3" }) _registry.Register(Registrations.Service(id, "speech_to_text"), id);

        var picks = Enumerable.Range(0, 9).Select(_ => _router.Resolve("speech_to_text", "").Devices[0].DeviceId).ToList();
        Assert.Equal(3, picks.Distinct().Count());
        Assert.All(picks.GroupBy(p => p), g => Assert.Equal(3, g.Count()));

        _registry.Birth("stt-2", "stt-2", DeviceState.Online, 7);
        _registry.Death("stt-2", 7);
        var after = Enumerable.Range(0, 6).Select(_ => _router.Resolve("speech_to_text", "").Devices[0].DeviceId).ToList();
        Assert.DoesNotContain("stt-2", after);

        _registry.MarkSuspect("stt-1"); // a timed-out request: skipped until its next sign of life
        Assert.All(Enumerable.Range(0, 4), _ => Assert.Equal("stt-3", _router.Resolve("speech_to_text", "").Devices[0].DeviceId));
    }

    [Fact]
    public void Max_connections_and_rate_limit_are_honoured()
    {
        _registry.Register(Registrations.Service("tts-1", "text_to_speech", maxConnections: 2), "tts-1");
        RouteDecision a = _router.Resolve("text_to_speech", "", lease: true);
        RouteDecision b = _router.Resolve("text_to_speech", "", lease: true);
        RouteDecision c = _router.Resolve("text_to_speech", "", lease: true);
        Assert.True(a.Routed && b.Routed);
        Assert.Equal(429, c.Status);
        Assert.Contains("max_connections", c.Reason);
        CapabilityRouter.Release(a);
        Assert.True(_router.Resolve("text_to_speech", "", lease: true).Routed);

        DeviceRegistration limited = Registrations.Bulb("strobe");
        limited.Capabilities.Constraints.RateLimit = "2/second";
        _registry.Register(limited, "me");
        Assert.True(_router.Resolve("light", "kitchen").Routed);
        Assert.True(_router.Resolve("light", "kitchen").Routed);
        Assert.Equal(429, _router.Resolve("light", "kitchen").Status);
        _clock.Advance(TimeSpan.FromMilliseconds(600));
        Assert.True(_router.Resolve("light", "kitchen").Routed);
    }

    [Fact]
    public void All_routes_to_every_live_device_in_the_place()
    {
        _registry.Register(Registrations.Bulb("lr-1", "living_room"), "me");
        _registry.Register(Registrations.Bulb("lr-2", "living_room"), "me");
        _registry.Register(Registrations.Bulb("k-1", "kitchen"), "me");

        RouteDecision d = _router.Resolve("light", "living_room", all: true);

        Assert.Equal(["lr-1", "lr-2"], d.Devices.Select(x => x.DeviceId).Order());
    }
}
