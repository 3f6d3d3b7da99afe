using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Alicia.Engine.Bus;
using Alicia.Engine.Registry;
using Alicia.Engine.Security;
using Alicia.Tools;
using Alicia.Tools.Simulation;

namespace Alicia.Registry.Tests;

/// <summary>
/// kill -9 of <c>alicia run</c> itself (issue 14 goal 7): devices register over real sockets, the engine is killed
/// with SIGKILL while registrations may still be in flight, restarted on the same data directory, and every device
/// that had been told "registered" before the kill is there. The engine acknowledges a registration only after the
/// registry's writer has committed it (WAL, synchronous=FULL), outside the registry's lock.
/// </summary>
public sealed partial class EngineCrashTests : IDisposable
{
    private const int Devices = 60;
    private readonly TempDirectory _dir = new("alicia-engine-crash");

    public void Dispose() => _dir.Dispose();

    private static string AliciaDll => Path.Combine(AppContext.BaseDirectory, "alicia.dll");

    [GeneratedRegex(@"mqtt://127\.0\.0\.1:(\d+)")]
    private static partial Regex ListenLine();

    private ChildProcess StartEngine() => ChildProcess.Start("dotnet", [AliciaDll, "run", "--port", "0", "--keys", _dir.Keys, "--data", _dir.Data, "--Voice:Enabled=false", "--Web:Enabled=false",
        // Every device signs as the local simulator: its many connections at once are not a flapping client.
        "--Gateway:FlapConnects=100000"], info =>
    {
        info.WorkingDirectory = _dir.Path;
        foreach (string key in info.Environment.Keys.Where(k => k.StartsWith("ALICIA_", StringComparison.Ordinal)).ToList()) info.Environment.Remove(key);
    });

    private static async Task<int> PortOf(ChildProcess engine)
    {
        string line = await engine.WaitForLineAsync(l => l.Contains(" running; ", StringComparison.Ordinal) && ListenLine().IsMatch(l), TimeSpan.FromSeconds(60), OutputStream.StandardOutput);
        return int.Parse(ListenLine().Match(line).Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Every_device_told_it_is_registered_is_there_after_kill_9_of_alicia_run_and_a_restart()
    {
        if (OperatingSystem.IsWindows()) return; // SIGKILL semantics: Linux (the CI and the target machines)
        string[] reported;
        await using (ChildProcess engine = StartEngine())
        {
            var endpoint = BrokerEndpoint.Tcp("127.0.0.1", await PortOf(engine));
            var keys = new KeyDirectory(_dir.Keys);
            using SigningIdentity identity = keys.Load(LocalTools.Simulator, createIfMissing: true); // the engine trusts its key directory
            var verifier = new EnvelopeVerifier(new TrustStore(keys), new VerifierOptions { ReplayCapacity = 1024 });
            var signer = new EnvelopeSigner(identity);
            string password = LocalTools.TryReadPassword(_dir.Data, LocalTools.Simulator) ?? throw new InvalidOperationException("the engine wrote no simulator password");
            var told = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
            var half = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var devices = new List<SimulatedDevice>();
            for (int i = 0; i < Devices; i++)
            {
                var device = new SimulatedDevice($"crash-{i}", (SimulatedKind)(i % 4), "kitchen", signer, verifier, endpoint, TimeSpan.FromMinutes(5))
                {
                    Credentials = (LocalTools.Simulator, System.Text.Encoding.UTF8.GetBytes(password)),
                };
                device.RegistrationAnswered += (d, result) =>
                {
                    if (!result.Accepted) return;
                    told[d.DeviceId] = true;
                    if (told.Count >= Devices / 2) half.TrySetResult();
                };
                devices.Add(device);
            }
            // All at once: the kill lands while some registrations are still on their way (or being written).
            Task starting = Task.WhenAll(devices.Select(d => d.StartAsync()));
            try { await half.Task.WaitAsync(TimeSpan.FromSeconds(60)); }
            catch (TimeoutException) { Assert.Fail($"{told.Count} of {Devices} devices told registered; the engine said:\n{engine.StandardOutput}\n{engine.StandardError}"); }
            reported = [.. told.Keys]; // every one of these was acknowledged: durable by the engine's promise
            engine.Kill(); // SIGKILL
            Assert.Equal(137, await engine.WaitForExitAsync());
            try { await starting; } catch (Exception e) when (e is not OutOfMemoryException) { /* devices cut off by the kill */ }
            foreach (SimulatedDevice d in devices) await d.DisposeAsync();
        }
        Assert.True(reported.Length >= Devices / 2);

        // Restart on the same data directory: the engine loads what survived, and stops cleanly.
        await using (ChildProcess engine = StartEngine())
        {
            await PortOf(engine);
            string loaded = await engine.WaitForLineAsync(l => l.Contains("devices loaded from", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
            Assert.Contains("Registry:", loaded);
            engine.Terminate();
            Assert.Equal(0, await engine.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
        using var store = new RegistryStore(Path.Combine(_dir.Data, "registry.db"));
        HashSet<string> present = [.. store.LoadAll().Select(d => d.DeviceId)];
        Assert.All(reported, id => Assert.Contains(id, present));
    }
}
