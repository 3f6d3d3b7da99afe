using Alicia.Contracts.Messages;
using Alicia.Engine.Registry;
using Microsoft.Extensions.Time.Testing;

namespace Alicia.Registry.Tests;

/// <summary>The registry without a broker: validation, ownership, hot swap, index, liveness, births and deaths.</summary>
public sealed class RegistryTests : IDisposable
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly TempDirectory _dir = new("alicia-registry");
    private string Db => _dir.Sub("registry.db");
    private readonly RegistryStore _store;
    private readonly DeviceRegistry _registry;

    public RegistryTests()
    {
        _store = new RegistryStore(Db);
        _registry = new DeviceRegistry(_store, new RegistryOptions { DefaultHeartbeatInterval = TimeSpan.FromSeconds(10) }, _clock);
    }

    public void Dispose()
    {
        _registry.Dispose();
        _store.Dispose();
        _dir.Dispose();
    }

    public static TheoryData<string, string, string> BadRegistrations => new()
    {
        { "missing device_id", "device_id", "is required" },
        { "wildcard +", "device_id", "must not contain '+'" },
        { "wildcard #", "device_id", "must not contain '#'" },
        { "slash", "device_id", "must not contain '/'" },
        { "unknown type", "device_type", "is not a known type" },
        { "missing type", "device_type", "is required" },
        { "no capabilities", "capabilities.capabilities", "at least one is required" },
        { "oversized capability list", "capabilities.capabilities", "at most 32" },
        { "capability without name", "capabilities.capabilities[0].name", "is required" },
        { "duplicate capability", "capabilities.capabilities[1].name", "declared twice" },
        { "bad rate limit", "capabilities.constraints.rate_limit", "is not N/second" },
        { "missing location", "metadata.location", "is required for a device" },
    };

    [Theory]
    [MemberData(nameof(BadRegistrations))]
    public void Invalid_registrations_are_refused_with_the_field_and_leave_the_registry_unchanged(string problem, string field, string reason)
    {
        _registry.Register(Registrations.Bulb("existing-bulb"), "owner");
        DeviceRegistration r = Registrations.Bulb("kitchen-bulb");
        switch (problem)
        {
            case "missing device_id": r.DeviceId = ""; break;
            case "wildcard +": r.DeviceId = "bulb+1"; break;
            case "wildcard #": r.DeviceId = "bulb#"; break;
            case "slash": r.DeviceId = "kitchen/bulb"; break;
            case "unknown type": r.DeviceType = "toaster"; break;
            case "missing type": r.DeviceType = ""; break;
            case "no capabilities": r.Capabilities.Capabilities.Clear(); break;
            case "oversized capability list": r.Capabilities.Capabilities = [.. Enumerable.Range(0, 33).Select(i => new Capability { Name = $"cap_{i}" })]; break;
            case "capability without name": r.Capabilities.Capabilities[0].Name = ""; break;
            case "duplicate capability": r.Capabilities.Capabilities.Add(new Capability { Name = "light" }); break;
            case "bad rate limit": r.Capabilities.Constraints.RateLimit = "lots"; break;
            case "missing location": r.Metadata.Location = ""; break;
        }
        string before = string.Join(";", _store.LoadAll().Select(d => RegistryStore.ToJson(d.Registration)));

        RegistrationOutcome outcome = _registry.Register(r, "owner");

        Assert.False(outcome.Accepted);
        Assert.Equal(field, outcome.Error!.Value.Field);
        Assert.Contains(reason, outcome.Error.Value.Reason);
        Assert.Equal(1, _registry.Count);
        Assert.Equal(before, string.Join(";", _store.LoadAll().Select(d => RegistryStore.ToJson(d.Registration))));
        Assert.Equal(1, _registry.Metrics.Refused);
    }

    [Fact]
    public void The_registry_database_and_its_wal_files_are_readable_by_the_owner_only()
    {
        if (OperatingSystem.IsWindows()) return; // Unix file modes
        _registry.Register(Registrations.Bulb("lamp-mode"), "lamp-mode");
        foreach (string file in new[] { Db, Db + "-wal", Db + "-shm" }.Where(File.Exists))
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file) & (UnixFileMode)0x1FF);
        Assert.True(File.Exists(Db + "-wal"));
    }

    [Fact]
    public void A_device_cannot_register_under_another_identitys_id_and_plain_json_cannot_take_a_signed_id()
    {
        Assert.True(_registry.Register(Registrations.Bulb("hall-bulb"), "hall-controller").Accepted);

        RegistrationOutcome hijack = _registry.Register(Registrations.Speaker("hall-bulb"), "intruder");
        RegistrationOutcome plain = _registry.Register(Registrations.Speaker("hall-bulb"), DeviceRecord.PlainOwnerPrefix + "hall-bulb");

        Assert.Equal("device_id", hijack.Error!.Value.Field);
        Assert.Contains("is registered by 'hall-controller'; 'intruder' may not", hijack.Error.Value.Reason);
        Assert.False(plain.Accepted);
        Assert.Equal(["light"], _registry.Get("hall-bulb")!.CapabilityNames);
        Assert.Equal("hall-controller", _registry.Get("hall-bulb")!.Owner);
        Assert.False(_registry.Unregister("hall-bulb", "intruder", "test").Accepted);
        Assert.NotNull(_registry.Get("hall-bulb"));
    }

    [Fact]
    public void A_new_registration_with_changed_capabilities_replaces_the_old_one_and_the_index()
    {
        var changes = new List<RegistryChange>();
        _registry.Changed += changes.Add;
        _registry.Register(Registrations.Bulb("desk"), "me");
        Assert.Single(_registry.WithCapabilityIn("light", "kitchen"));

        DeviceRegistration swapped = Registrations.Speaker("desk", "office");
        Assert.Equal("updated", _registry.Register(swapped, "me").Outcome);
        Assert.Equal("unchanged", _registry.Register(Registrations.Speaker("desk", "office"), "me").Outcome);

        Assert.Empty(_registry.WithCapability("light"));
        Assert.Single(_registry.WithCapabilityIn("announcement", "office"));
        Assert.Single(_registry.InLocation("office"));
        Assert.Equal(["desk"], _store.DevicesWithCapability("announcement"));
        Assert.Empty(_store.DevicesWithCapability("light"));
        Assert.Equal([RegistryChangeKind.Registered, RegistryChangeKind.Updated], changes.Select(c => c.Kind));
    }

    [Fact]
    public void A_stale_death_notice_cannot_mark_a_reconnected_device_offline()
    {
        _registry.Register(Registrations.Bulb("porch"), "me");
        Assert.True(_registry.Birth("porch", "me", DeviceState.Online, 100));
        Assert.True(_registry.Birth("porch", "me", DeviceState.Online, 101)); // reconnected; the broker may still deliver the will of 100

        Assert.False(_registry.Death("porch", 100));
        Assert.Equal(DeviceState.Online, _registry.Get("porch")!.State);
        Assert.False(_registry.Birth("porch", "me", DeviceState.Online, 99)); // an old birth is stale too
        Assert.False(_registry.Birth("porch", "someone-else", DeviceState.Online, 500)); // only the owner announces births

        Assert.True(_registry.Death("porch", 101));
        Assert.Equal(DeviceState.Offline, _registry.Get("porch")!.State);
    }

    [Fact]
    public void A_device_that_misses_heartbeats_goes_offline_within_two_intervals_and_comes_back_on_the_next()
    {
        _registry.Register(Registrations.Bulb("lamp"), "me");
        _registry.Heartbeat("me", new ServiceHealth { Service = "lamp", Status = HealthStatus.Healthy, IntervalMs = 1000 });

        _clock.Advance(TimeSpan.FromMilliseconds(1400));
        Assert.Equal(0, _registry.Sweep());
        Assert.Equal(DeviceState.Online, _registry.Get("lamp")!.State);

        _clock.Advance(TimeSpan.FromMilliseconds(200)); // 1.6 intervals of silence
        Assert.Equal(1, _registry.Sweep());
        Assert.Equal(DeviceState.Offline, _registry.Get("lamp")!.State);

        Assert.False(_registry.Heartbeat("stranger", new ServiceHealth { Service = "lamp", IntervalMs = 1000 }));
        Assert.Equal(DeviceState.Offline, _registry.Get("lamp")!.State);
        _registry.Heartbeat("me", new ServiceHealth { Service = "lamp", Status = HealthStatus.Degraded, IntervalMs = 1000 });
        Assert.Equal(DeviceState.Degraded, _registry.Get("lamp")!.State);
    }

    [Fact]
    public void Liveness_and_registrations_survive_a_restart_of_the_registry()
    {
        _registry.Register(Registrations.Bulb("b1"), "me");
        _registry.Register(Registrations.Speaker("s1", "office"), "me");
        _registry.Birth("b1", "me", DeviceState.Online, 42);
        _registry.Unregister("s1", "me", "gone");
        _registry.Register(Registrations.Speaker("s2", "office"), "me");

        using var reopened = new RegistryStore(Db);
        using var again = new DeviceRegistry(reopened, clock: _clock);

        Assert.Equal(["b1", "s2"], again.All.Select(d => d.DeviceId));
        Assert.Equal(42, again.Get("b1")!.BirthSequence);
        Assert.Equal("me", again.Get("b1")!.Owner);
        Assert.Single(again.WithCapabilityIn("announcement", "office"));
        Assert.Equal("wal", reopened.JournalMode);
        Assert.Equal(2, reopened.Synchronous); // FULL
    }
}
