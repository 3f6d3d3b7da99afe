using System.Globalization;
using System.Runtime.InteropServices;

namespace Alicia.Load;

/// <summary>
/// Sets the CPU affinity of this whole process (Linux): the gateway scenario's --engine-cores. <see cref="System.Diagnostics.Process.ProcessorAffinity"/> calls
/// sched_setaffinity on the process id, which on Linux is the main thread only; the runtime's threads (thread pool, GC,
/// sockets) would keep both cores. So every thread in /proc/self/task is set, and threads created later inherit the
/// mask of the thread that creates them.
/// </summary>
internal static class CpuAffinity
{
    /// <summary>The cores the calling thread may run on, as a mask (bit i = core i).</summary>
    public static ulong CurrentMask()
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("CPU affinity needs Linux (sched_getaffinity)");
        ulong mask = 0;
        return SchedGetAffinity(0, sizeof(ulong), ref mask) == 0 ? mask : throw new InvalidOperationException($"sched_getaffinity failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>The cores the calling thread may run on.</summary>
    public static int CurrentCores() => System.Numerics.BitOperations.PopCount(CurrentMask());

    /// <summary>The lowest <paramref name="cores"/> cores of <paramref name="allowed"/>.</summary>
    public static ulong FirstCores(ulong allowed, int cores)
    {
        if (cores < 1 || cores > System.Numerics.BitOperations.PopCount(allowed)) throw new ArgumentOutOfRangeException(nameof(cores), $"1..{System.Numerics.BitOperations.PopCount(allowed)} cores");
        ulong mask = 0;
        for (int bit = 0; bit < 64 && System.Numerics.BitOperations.PopCount(mask) < cores; bit++)
            if ((allowed & (1UL << bit)) != 0) mask |= 1UL << bit;
        return mask;
    }

    /// <summary>Sets every thread of this process to <paramref name="mask"/>; returns the threads set.</summary>
    public static int Set(ulong mask)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("CPU affinity needs Linux (sched_setaffinity)");
        if (mask == 0) throw new ArgumentOutOfRangeException(nameof(mask), "no core");
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

#pragma warning disable SYSLIB1054 // DllImport: a blittable ref ulong needs no marshalling code, and LibraryImport would need unsafe blocks here.
    [DllImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static extern int SchedSetAffinity(int pid, nint cpusetsize, ref ulong mask);

    [DllImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static extern int SchedGetAffinity(int pid, nint cpusetsize, ref ulong mask);
#pragma warning restore SYSLIB1054
}
