using Alicia.Contracts.Messages;
using Alicia.Engine.Registry;
using Alicia.Tools.Simulation;
using BenchmarkDotNet.Attributes;

namespace Alicia.Benchmarks;

/// <summary>
/// Registrations with SQLite (WAL, synchronous=FULL: an fsync per commit) at 1, 4 and 16 concurrent callers, each
/// call returning once its write is durable. Baseline: the former path, the write made under the registry's lock
/// (reproduced here: an in-memory registry and the store's upsert under one lock, as the registry did before its
/// writer). After: the registry's ordered writer, outside the lock, committing what queued up together. The ratio
/// column compares the two in the same run. Run:
/// dotnet run -c Release --project bench/Alicia.Benchmarks -- --filter '*RegistryWriteBenchmarks*' --job short
/// </summary>
[MemoryDiagnoser]
public class RegistryWriteBenchmarks
{
    private const int Batch = 64;
    private const int Fleet = 64;
    private static readonly string[] Rooms = ["office", "hall"];
    private readonly Lock _formerLock = new();
    private string _dir = "";
    private DeviceRegistry _inMemory = null!;
    private RegistryStore _formerStore = null!;
    private RegistryStore _store = null!;
    private DeviceRegistry _registry = null!;
    private DeviceRegistration[][] _registrations = null!;
    private int _moves;

    [Params(1, 4, 16)]
    public int Callers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // Callers block (on the lock before, on their durable write after): enough threads for both from the start.
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), io);
        _dir = Path.Combine(Path.GetTempPath(), $"alicia-bench-registry-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
        // Each device in two rooms: every registration is an update that moves it (a real write, not "unchanged").
        _registrations = [.. Enumerable.Range(0, Fleet).Select(i => Rooms.Select(room => SimulatedDevice.Describe($"dev-{i}", SimulatedKind.Bulb, room)).ToArray())];
        _inMemory = new DeviceRegistry(null);
        _formerStore = new RegistryStore(Path.Combine(_dir, "former.db"));
        _store = new RegistryStore(Path.Combine(_dir, "writer.db"));
        _registry = new DeviceRegistry(_store);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _registry.Dispose();
        _store.Dispose();
        _formerStore.Dispose();
        _inMemory.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private DeviceRegistration Next(int caller, int i) => _registrations[(caller * 7 + i) % Fleet][(_moves + i) & 1];

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public void Write_under_the_registry_lock_before()
    {
        Parallel.For(0, Callers, new ParallelOptions { MaxDegreeOfParallelism = Callers }, caller =>
        {
            for (int i = caller; i < Batch; i += Callers)
            {
                lock (_formerLock)
                {
                    RegistrationOutcome outcome = _inMemory.Register(Next(caller, i), "bench");
                    _formerStore.Upsert(outcome.Device!);
                }
            }
        });
        _moves++;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public void Ordered_writer_outside_the_lock_after()
    {
        Parallel.For(0, Callers, new ParallelOptions { MaxDegreeOfParallelism = Callers }, caller =>
        {
            for (int i = caller; i < Batch; i += Callers) _registry.Register(Next(caller, i), "bench");
        });
        _moves++;
    }
}
