using System.Globalization;
using System.Runtime.InteropServices;

namespace Alicia.Load;

/// <summary>
/// Pins this whole process to its first N cores (Linux). <see cref="System.Diagnostics.Process.ProcessorAffinity"/> calls
/// sched_setaffinity on the process id, which on Linux is the main thread only; the runtime's threads (thread pool, GC,
/// sockets) would keep both cores. So every thread in /proc/self/task is set, and threads created later inherit the
/// mask of the thread that creates them.
/// </summary>
internal static class CpuAffinity
{
    /// <summary>Sets every thread's mask to cores 0..<paramref name="cores"/>-1; returns the threads set.</summary>
    public static int Pin(int cores)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("--engine-cores needs Linux (sched_setaffinity)");
        if (cores < 1 || cores > Math.Min(64, Environment.ProcessorCount)) throw new ArgumentOutOfRangeException(nameof(cores), $"1..{Environment.ProcessorCount} cores");
        ulong mask = cores == 64 ? ulong.MaxValue : (1UL << cores) - 1;
        var done = new HashSet<int>();
        // A thread started while the list is walked is missed by that pass: walk again until a pass finds none new.
        for (int pass = 0; pass < 10; pass++)
        {
            bool any = false;
            foreach (string task in Directory.EnumerateDirectories("/proc/self/task"))
            {
                if (!int.TryParse(Path.GetFileName(task), NumberStyles.Integer, CultureInfo.InvariantCulture, out int tid) || !done.Add(tid)) continue;
                any = true;
                // A thread that ended meanwhile (ESRCH) is no matter.
                _ = SchedSetAffinity(tid, sizeof(ulong), ref mask);
            }
            if (!any) break;
        }
        return done.Count;
    }

    /// <summary>The cores the calling thread may run on (the mask's bit count).</summary>
    public static int CurrentCores()
    {
        ulong mask = 0;
        return SchedGetAffinity(0, sizeof(ulong), ref mask) == 0 ? System.Numerics.BitOperations.PopCount(mask) : Environment.ProcessorCount;
    }

#pragma warning disable SYSLIB1054 // DllImport: a blittable ref ulong needs no marshalling code, and LibraryImport would need unsafe blocks here.
    [DllImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static extern int SchedSetAffinity(int pid, nint cpusetsize, ref ulong mask);

    [DllImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static extern int SchedGetAffinity(int pid, nint cpusetsize, ref ulong mask);
#pragma warning restore SYSLIB1054
}
