using Alicia.Contracts.Messages;
using Alicia.Engine.Registry;
using Alicia.Tools.Simulation;

namespace Alicia.Registry.Tests;

/// <summary>
/// A registration updates the index incrementally (only the device's own entries): after any sequence of
/// registrations, capability and location changes and removals, the index must equal a full rebuild from
/// the same devices, bucket by bucket and in the same order.
/// </summary>
public sealed class IncrementalIndexTests
{
    private static readonly SimulatedKind[] Kinds = [SimulatedKind.Sensor, SimulatedKind.Bulb, SimulatedKind.Switch, SimulatedKind.Speaker];
    private static readonly string[] Locations = ["kitchen", "office", "hall", "bedroom", "garage"];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void After_a_random_sequence_of_register_update_and_remove_the_index_equals_a_full_rebuild(int seed)
    {
        var random = new Random(seed);
        using var registry = new DeviceRegistry(null);
        var present = new List<string>();
        int registered = 0, updated = 0, removed = 0;
        for (int step = 0; step < 600; step++)
        {
            int action = random.Next(10);
            if (action < 2 && present.Count > 0)
            {
                string id = present[random.Next(present.Count)];
                Assert.True(registry.Unregister(id, null, "test").Accepted);
                present.Remove(id);
                removed++;
            }
            else
            {
                // Half the time a device that exists: same id, maybe another kind (capabilities) or room.
                string id = action < 6 && present.Count > 0 ? present[random.Next(present.Count)] : $"dev-{random.Next(400):D3}";
                DeviceRegistration r = SimulatedDevice.Describe(id, Kinds[random.Next(Kinds.Length)], Locations[random.Next(Locations.Length)]);
                RegistrationOutcome outcome = registry.Register(r, "owner");
                Assert.True(outcome.Accepted, outcome.Error?.ToString());
                if (outcome.Outcome == "registered") { present.Add(id); registered++; }
                else if (outcome.Outcome == "updated") updated++;
            }
            if (step % 50 == 49) AssertEqualsRebuild(registry);
        }
        AssertEqualsRebuild(registry);
        Assert.Equal(present.Order(StringComparer.Ordinal), Ids(registry.Index.All));
        Assert.True(registered > 100 && updated > 50 && removed > 50, $"a weak sequence: {registered} registered, {updated} updated, {removed} removed");
    }

    [Fact]
    public void Removing_the_last_device_of_a_capability_or_room_removes_its_bucket()
    {
        using var registry = new DeviceRegistry(null);
        registry.Register(SimulatedDevice.Describe("lamp", SimulatedKind.Bulb, "attic"), "owner");
        Assert.Single(registry.InLocation("attic"));
        registry.Register(SimulatedDevice.Describe("lamp", SimulatedKind.Bulb, "cellar"), "owner"); // moved
        Assert.Empty(registry.InLocation("attic"));
        Assert.False(registry.Index.ByLocation.ContainsKey("attic"));
        registry.Unregister("lamp", null, "test");
        Assert.Empty(registry.Index.ByCapability);
        Assert.Empty(registry.Index.ByLocation);
        Assert.Empty(registry.Index.ByCapabilityAndLocation);
        Assert.Empty(registry.Index.All);
        AssertEqualsRebuild(registry);
    }

    private static void AssertEqualsRebuild(DeviceRegistry registry)
    {
        RegistryIndex actual = registry.Index;
        RegistryIndex expected = RegistryIndex.Build(actual.All);
        Assert.Equal(Ids(expected.All), Ids(actual.All));
        Assert.Equal(expected.ById.Keys.Order(StringComparer.Ordinal), actual.ById.Keys.Order(StringComparer.Ordinal));
        Assert.All(expected.ById, e => Assert.Same(e.Value, actual.ById[e.Key]));
        AssertSameBuckets(expected.ByCapability, actual.ByCapability);
        AssertSameBuckets(expected.ByLocation, actual.ByLocation);
        AssertSameBuckets(expected.ByCapabilityAndLocation, actual.ByCapabilityAndLocation);
    }

    private static void AssertSameBuckets<TKey>(IReadOnlyDictionary<TKey, DeviceRecord[]> expected, IReadOnlyDictionary<TKey, DeviceRecord[]> actual) where TKey : notnull
    {
        Assert.Equal(expected.Count, actual.Count);
        foreach ((TKey key, DeviceRecord[] bucket) in expected)
        {
            Assert.True(actual.TryGetValue(key, out DeviceRecord[]? got), $"bucket {key} is missing");
            Assert.Equal(Ids(bucket), Ids(got!));
            for (int i = 0; i < bucket.Length; i++) Assert.Same(bucket[i], got![i]);
        }
    }

    private static string[] Ids(DeviceRecord[] records) => [.. records.Select(r => r.DeviceId)];
}
