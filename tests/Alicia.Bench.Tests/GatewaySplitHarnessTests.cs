using Alicia.Engine.Bus;
using Alicia.Load;

namespace Alicia.Bench.Tests;

/// <summary>
/// The gateway scenario's split harness run for real with small counts: the signing devices in the engine's process
/// and in a child process (this load tool in its internal role), the engine pinned to one core and then to two. Asserts
/// what must hold at any speed (every QoS 1 message delivered and verified once, each process's CPU accounted to it,
/// the affinity restored); never a speed.
/// </summary>
public sealed class GatewaySplitHarnessTests : IDisposable
{
    private readonly TempDirectory _results = new("alicia-gateway-split");

    public void Dispose() => _results.Dispose();

    [Fact]
    public async Task Runs_the_devices_in_process_and_in_a_child_on_one_core_and_two_without_losing_a_message()
    {
        ulong before = CpuAffinity.CurrentMask();
        int[] cores = Environment.ProcessorCount >= 2 ? [1, 2] : [1];
        var options = new LoadOptions
        {
            Scenario = "gateway", Devices = 20, DurationSeconds = 1, Warmup = 2, Qos = QualityOfService.AtLeastOnce,
            GatewayModes = ["on"], DevicesIn = [GatewayScenario.DevicesInProcess, GatewayScenario.DevicesInChild], EngineCores = cores,
            ResultsDirectory = _results.Path,
        };

        List<GatewayScenario.PhaseResult> phases = await GatewayScenario.MeasureAsync(options, "1000000/second", TextWriter.Null);

        Assert.Equal(2 * cores.Length, phases.Count);
        foreach (GatewayScenario.PhaseResult p in phases)
        {
            string what = $"devices {p.DevicesIn}, {p.EngineCores} core(s)";
            Assert.True(p.Sent > 0, $"{what}: nothing sent");
            Assert.True(p.Failed == 0, $"{what}: {p.Failed} publishes failed ({p.FirstError})");
            Assert.True(p.Delivered == p.Sent, $"{what}: {p.Sent} sent, {p.Delivered} delivered (QoS 1 must lose none)");
            // Verified once, at the door; the engine's subscriber took the gateway's mark.
            Assert.Equal(p.Sent, p.GatewayVerifications);
            Assert.Equal(0, p.EngineVerifications);
            Assert.True(p.CpuSeconds > 0 && p.WindowSeconds > 0);
            if (p.DevicesIn == GatewayScenario.DevicesInChild)
            {
                Assert.True(p.GeneratorCpuSeconds > 0, $"{what}: the child's CPU time was not reported");
                // The child runs on every core this process had, not only on the engine's pinned ones.
                Assert.Equal(System.Numerics.BitOperations.PopCount(before), p.GeneratorCores);
            }
            else
            {
                Assert.Null(p.GeneratorCpuSeconds);
            }
        }
        Assert.Equal(cores, phases.Where(p => p.DevicesIn == GatewayScenario.DevicesInChild).Select(p => p.EngineCores));
        // The pinning is undone: this process has its cores back.
        Assert.Equal(before, CpuAffinity.CurrentMask());
    }

    [Fact]
    public async Task Pinning_reaches_threads_that_already_run_and_threads_started_later()
    {
        ulong before = CpuAffinity.CurrentMask();
        using var started = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        ulong seenByOldThread = 0;
        var old = new Thread(() => { started.Set(); release.Wait(); seenByOldThread = CpuAffinity.CurrentMask(); });
        old.Start();
        started.Wait();
        try
        {
            ulong one = CpuAffinity.FirstCores(before, 1);
            Assert.True(CpuAffinity.Set(one) > 1);
            ulong seenByNewThread = await Task.Factory.StartNew(CpuAffinity.CurrentMask, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            release.Set();
            old.Join();
            Assert.Equal(one, seenByOldThread);
            Assert.Equal(one, seenByNewThread);
            Assert.Equal(1, System.Numerics.BitOperations.PopCount(one));
        }
        finally
        {
            release.Set();
            CpuAffinity.Set(before);
        }
        Assert.Equal(before, CpuAffinity.CurrentMask());
    }
}
