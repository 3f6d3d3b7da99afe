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

        // Other tests of this assembly may run alicia at the same time and add marks of their own (the marks are one
        // list per process): this run's phases must appear in this order, whatever is between them.
        List<string> marks = [.. stderr.ToString().Split(Environment.NewLine)
            .Where(l => l.StartsWith("alicia-trace: ", StringComparison.Ordinal))
            .Select(l => l["alicia-trace: ".Length..].Split(' ', 2))
            .Where(p => double.TryParse(p[0], NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            .Select(p => p[1])];
        string[] expected = ["configuration loaded", "host built", "engine: identity loaded", "engine: broker configured", "engine: broker listening",
            "engine: services constructed and ordered", "engine: bus connected", "service security-gateway started", "service registry started", "running"];
        int from = 0;
        foreach (string phase in expected)
        {
            int at = marks.IndexOf(phase, from);
            Assert.True(at >= 0, $"no '{phase}' after the phases before it in the trace:\n{string.Join('\n', marks)}");
            from = at + 1;
        }

        await stop.CancelAsync();
        Assert.Equal(0, await engine.WaitAsync(Waits.Long));
    }
}
