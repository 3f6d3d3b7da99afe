using System.Globalization;
using Alicia.Host.Commands;

namespace Alicia.Host.Tests;

/// <summary><c>alicia run --Diagnostics:StartupTrace=true</c>: when each start phase ended, in the order the start takes them.</summary>
public sealed class StartupTraceTests : IDisposable
{
    private readonly TempDirectory _dir = new("alicia-trace");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_trace_shows_the_broker_listening_before_the_services_are_constructed_and_the_bus_connects()
    {
        int port = FreePort.Next();
        var stdout = new WatchedWriter();
        var stderr = new WatchedWriter();
        using var stop = new CancellationTokenSource();
        Task<string> traced = stderr.WaitFor(" running" + Environment.NewLine);
        Task<int> engine = Task.Run(() => Cli.RunAsync(["run", "--keys", _dir.Keys, "--data", _dir.Data, $"--Broker:Port={port}", "--Web:Port=0",
            "--Voice:Enabled=false", "--Diagnostics:StartupTrace=true"], stdout, stderr, new Dictionary<string, string?>(), stop.Token));
        Assert.True(await Task.WhenAny(traced, engine).WaitAsync(Waits.Long) == traced, "the engine wrote no startup trace");

        // Other tests of this assembly may run alicia too: only this run's phases are asserted, by their order.
        List<(double At, string Phase)> marks = [.. stderr.ToString().Split(Environment.NewLine)
            .Where(l => l.StartsWith("alicia-trace: ", StringComparison.Ordinal))
            .Select(l => l["alicia-trace: ".Length..].Split(' ', 2))
            .Select(p => (double.Parse(p[0], CultureInfo.InvariantCulture), p[1]))];
        string[] expected = ["configuration loaded", "host built", "engine: identity loaded", "engine: broker configured", "engine: broker listening",
            "engine: services constructed and ordered", "engine: bus connected", "service security-gateway started", "service registry started", "running"];
        int[] at = [.. expected.Select(phase => marks.FindLastIndex(m => m.Phase == phase))];
        Assert.All(expected.Zip(at), p => Assert.True(p.Second >= 0, $"no '{p.First}' in the trace"));
        Assert.Equal(at.Order(), at);
        Assert.Equal(at.Select(i => marks[i].At).Order(), at.Select(i => marks[i].At));

        await stop.CancelAsync();
        Assert.Equal(0, await engine.WaitAsync(Waits.Long));
    }
}
