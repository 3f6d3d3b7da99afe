using System.Globalization;

namespace Alicia.Host;

/// <summary>
/// When each phase of <c>alicia run</c>'s start ended (wall clock, Unix milliseconds, so a caller that noted its spawn
/// time can subtract). Always noted (a few clock reads into a list); written to standard error as
/// <c>alicia-trace: UNIX_MS PHASE</c> lines once the engine runs, only with <c>Diagnostics:StartupTrace=true</c>.
/// Buffered: writing while starting would slow what it measures.
/// </summary>
internal static class StartupTrace
{
    /// <summary>The configuration key that turns the output on.</summary>
    public const string Key = "Diagnostics:StartupTrace";

    private static readonly List<(double UnixMs, string Phase)> Marks = [];

    /// <summary>When <c>Main</c> began: <c>alicia run</c> reports its broker's and services' readiness from there.</summary>
    public static DateTimeOffset MainAt { get; private set; } = DateTimeOffset.UtcNow;

    /// <summary>Called first thing in <c>Main</c>.</summary>
    public static void Start()
    {
        MainAt = DateTimeOffset.UtcNow;
        Mark("Main");
    }

    public static double MillisecondsSinceMain(DateTimeOffset at) => (at - MainAt).TotalMilliseconds;

    public static void Mark(string phase)
    {
        double now = (DateTime.UtcNow - DateTime.UnixEpoch).TotalMilliseconds;
        lock (Marks) if (Marks.Count < 256) Marks.Add((now, phase));
    }

    /// <summary>Writes the marks taken so far (and forgets them) to <paramref name="writer"/>.</summary>
    public static void Flush(TextWriter writer)
    {
        (double, string)[] marks;
        lock (Marks)
        {
            marks = [.. Marks];
            Marks.Clear();
        }
        lock (writer)
        {
            foreach ((double at, string phase) in marks) writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"alicia-trace: {at:F3} {phase}"));
            writer.Flush();
        }
    }
}
