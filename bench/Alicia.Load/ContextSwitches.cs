namespace Alicia.Load;

/// <summary>
/// How often a process's threads have been switched off a CPU (voluntarily: they waited; or preempted), summed over
/// its threads from /proc. Read before and after a cell, it shows how many hand-offs between threads a message costs.
/// </summary>
internal static class ContextSwitches
{
    /// <summary>The total for <paramref name="pid"/>'s live threads, or null where /proc does not say (not Linux).</summary>
    public static long? Of(int pid)
    {
        string tasks = $"/proc/{pid}/task";
        if (!Directory.Exists(tasks)) return null;
        long total = 0;
        foreach (string task in Directory.EnumerateDirectories(tasks))
        {
            try
            {
                foreach (string line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                        total += long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim(), System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            catch (IOException) { } // the thread ended while we read
            catch (UnauthorizedAccessException) { }
        }
        return total;
    }
}
