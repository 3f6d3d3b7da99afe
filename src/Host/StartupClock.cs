namespace Alicia.Host;

/// <summary>When <c>Main</c> began: <c>alicia run</c> reports its broker's and services' readiness from there.</summary>
internal static class StartupClock
{
    public static DateTimeOffset MainAt { get; private set; } = DateTimeOffset.UtcNow;

    /// <summary>Called first thing in <c>Main</c>.</summary>
    public static void Mark() => MainAt = DateTimeOffset.UtcNow;

    public static double MillisecondsSinceMain(DateTimeOffset at) => (at - MainAt).TotalMilliseconds;
}
