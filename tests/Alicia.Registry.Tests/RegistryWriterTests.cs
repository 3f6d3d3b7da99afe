using Alicia.Contracts.Messages;
using Alicia.Engine.Registry;
using Alicia.Tools.Simulation;
using Microsoft.Data.Sqlite;

namespace Alicia.Registry.Tests;

/// <summary>
/// Issue 14 goal 7: the registry's SQLite writes happen outside its lock, on one ordered writer. Concurrent
/// registrations end with the database equal to memory and the last announced change of each device equal to its
/// final state; a disk write held up by SQLite does not hold up heartbeats or lookups, yet its caller returns
/// only once it is durable.
/// </summary>
public sealed class RegistryWriterTests : IDisposable
{
    private static readonly string[] Rooms = ["kitchen", "office", "hall", "attic"];
    private readonly TempDirectory _dir = new("alicia-registry-writer");
    private string Db => _dir.Sub("registry.db");

    public void Dispose() => _dir.Dispose();

    private static string Describe(DeviceRecord d) => $"{d.DeviceId}|{d.Owner}|{d.Location}|{d.DeviceType}|{d.State}|{RegistryStore.ToJson(d.Registration)}";

    [Fact]
    public async Task Concurrent_registrations_updates_and_removals_end_with_the_database_equal_to_memory_and_changes_in_order()
    {
        var store = new RegistryStore(Db);
        var registry = new DeviceRegistry(store);
        var lastChange = new Dictionary<string, RegistryChange>(StringComparer.Ordinal);
        int announced = 0;
        // Raised on the writer thread, one at a time: no lock is needed for ordering, only for the test's own reads later.
        registry.Changed += c => { lock (lastChange) lastChange[c.Device.DeviceId] = c; announced++; };

        const int Workers = 8, OperationsEach = 150, Ids = 40;
        Task[] workers = [.. Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            for (int i = 0; i < OperationsEach; i++)
            {
                string id = $"dev-{random.Next(Ids)}";
                if (random.Next(10) == 0) await registry.UnregisterAsync(id, null, "test");
                else
                {
                    SimulatedKind kind = random.Next(2) == 0 ? SimulatedKind.Bulb : SimulatedKind.Speaker;
                    RegistrationOutcome outcome = random.Next(2) == 0
                        ? await registry.RegisterAsync(SimulatedDevice.Describe(id, kind, Rooms[random.Next(Rooms.Length)]), "owner")
                        : registry.Register(SimulatedDevice.Describe(id, kind, Rooms[random.Next(Rooms.Length)]), "owner");
                    Assert.True(outcome.Accepted, outcome.Error?.ToString());
                }
            }
        }))];
        await Task.WhenAll(workers);

        string[] memory = [.. registry.All.OrderBy(d => d.DeviceId, StringComparer.Ordinal).Select(Describe)];
        string[] disk = [.. store.LoadAll().OrderBy(d => d.DeviceId, StringComparer.Ordinal).Select(Describe)];
        Assert.NotEmpty(memory);
        Assert.Equal(memory, disk);
        // Each device's last announced change is its final state: announcements kept the order of the changes.
        lock (lastChange)
        {
            foreach ((string id, RegistryChange change) in lastChange)
            {
                DeviceRecord? final = registry.Get(id);
                if (final is null) Assert.Equal(RegistryChangeKind.Removed, change.Kind);
                else Assert.Same(final, change.Device);
            }
        }
        Assert.True(registry.WriteTransactions > 0);
        Assert.True(announced > 0);

        registry.Dispose();
        store.Dispose();
        // And after a restart from the file.
        using var reopenedStore = new RegistryStore(Db);
        using var reopened = new DeviceRegistry(reopenedStore);
        Assert.Equal(memory, reopened.All.OrderBy(d => d.DeviceId, StringComparer.Ordinal).Select(Describe).ToArray());
    }

    [Fact]
    public async Task A_disk_write_held_up_by_SQLite_does_not_hold_up_heartbeats_and_lookups_and_its_caller_waits_until_it_is_durable()
    {
        using var store = new RegistryStore(Db);
        using var registry = new DeviceRegistry(store);
        Assert.True(registry.Register(SimulatedDevice.Describe("lamp", SimulatedKind.Bulb, "kitchen"), "owner").Accepted);

        // Another connection takes SQLite's write lock: the registry's writer waits on it (busy_timeout).
        using var blocker = new SqliteConnection($"Data Source={Db}");
        blocker.Open();
        using (SqliteCommand begin = blocker.CreateCommand())
        {
            begin.CommandText = "BEGIN IMMEDIATE;";
            begin.ExecuteNonQuery();
        }

        Task<RegistrationOutcome> pending = registry.RegisterAsync(SimulatedDevice.Describe("fan", SimulatedKind.Switch, "office"), "owner").AsTask();
        // Memory has it at once; the lock is free while the write waits for the disk.
        Assert.NotNull(registry.Get("fan"));
        Assert.True(registry.Heartbeat("owner", new ServiceHealth { Service = "lamp", Status = HealthStatus.Healthy, IntervalMs = 1000 }));
        registry.MarkSuspect("lamp");
        Assert.Single(registry.WithCapability("switch"));
        Assert.False(pending.IsCompleted, "the registration must not be reported before it is durable");

        using (SqliteCommand rollback = blocker.CreateCommand())
        {
            rollback.CommandText = "ROLLBACK;";
            rollback.ExecuteNonQuery();
        }
        RegistrationOutcome outcome = await pending.WaitAsync(Waits.Long);
        Assert.Equal("registered", outcome.Outcome);
        Assert.Equal(["fan"], store.DevicesWithCapability("switch"));
    }
}
