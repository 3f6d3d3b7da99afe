using Alicia.Engine.Registry;

namespace Alicia.Registry.Tests;

/// <summary>
/// kill -9: a child process commits registrations (WAL, synchronous=FULL) and is killed with SIGKILL while
/// its SQLite connection is still open (no dispose, no checkpoint). What this proves: a registration whose
/// commit returned survives the death of the process, recovered from the WAL. What it cannot prove: survival
/// of a power cut, which rests on synchronous=FULL making SQLite fsync the WAL at each commit.
/// </summary>
public sealed class CrashTests
{
    [Fact]
    public async Task A_completed_registration_survives_kill_9_of_the_process()
    {
        using var dir = new TempDirectory("alicia-registry");
        string db = dir.Sub("registry.db");
        await using ChildProcess child = ChildProcess.Start("dotnet", [ChildPath(), db, "crash-bulb-1", "crash-bulb-2"]);
        await child.WaitForLineAsync(line => line == "committed", TimeSpan.FromSeconds(60), OutputStream.StandardOutput);

        Assert.True(new FileInfo(db + "-wal").Length > 0, "the commits should still be in the WAL, not checkpointed");
        child.Kill(); // SIGKILL on Linux
        Assert.Equal(137, await child.WaitForExitAsync());

        using var store = new RegistryStore(db);
        using var registry = new DeviceRegistry(store);
        Assert.Equal(["crash-bulb-1", "crash-bulb-2"], registry.All.Select(d => d.DeviceId));
        Assert.Equal("crash-child", registry.Get("crash-bulb-1")!.Owner);
        Assert.Equal(["crash-bulb-1", "crash-bulb-2"], store.DevicesWithCapability("light"));
        Assert.Contains("registered crash-bulb-2", child.StandardOutput);
    }

    private static string ChildPath()
    {
        // tests/Alicia.Registry.Tests/bin/{Configuration}/net10.0/ -> tests/Alicia.Registry.Tests/CrashChild/bin/{Configuration}/net10.0/
        var dir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string tfm = dir.Name, configuration = dir.Parent!.Name;
        string project = dir.Parent.Parent!.Parent!.FullName;
        string path = Path.Combine(project, "CrashChild", "bin", configuration, tfm, "Alicia.Registry.CrashChild.dll");
        if (File.Exists(path)) return path;
        // Built through a solution, the child (not itself in the solution) gets its default configuration.
        string? any = Directory.Exists(Path.Combine(project, "CrashChild", "bin"))
            ? Directory.EnumerateFiles(Path.Combine(project, "CrashChild", "bin"), "Alicia.Registry.CrashChild.dll", SearchOption.AllDirectories)
                .Where(f => Path.GetFileName(Path.GetDirectoryName(f)) == tfm).OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
            : null;
        Assert.True(any is not null, $"crash child not built at {path}");
        return any!;
    }
}
