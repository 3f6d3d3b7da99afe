using Microsoft.Extensions.Logging;

namespace Alicia.Engine.Monitoring;

/// <summary>
/// Lets through at most a few log lines per second for one kind of refusal: a flood of forgeries or
/// over-limit publishes is counted in full by the metrics (and the audit log) but must not drown the
/// log or the disk. What was held back is summarised once a second.
/// </summary>
internal sealed class LogThrottle(ILogger logger, string what, int perSecond = 10)
{
    private long _windowStart;
    private int _inWindow;
    private long _suppressed;

    /// <summary>True when this occurrence may be logged.</summary>
    public bool Allow()
    {
        long now = Environment.TickCount64;
        if (now - Interlocked.Read(ref _windowStart) >= 1000)
        {
            Interlocked.Exchange(ref _windowStart, now);
            Interlocked.Exchange(ref _inWindow, 0);
            long suppressed = Interlocked.Exchange(ref _suppressed, 0);
            if (suppressed > 0) logger.LogWarning("{Count} more {What} in the last second were not logged (see the metrics)", suppressed, what);
        }
        if (Interlocked.Increment(ref _inWindow) <= perSecond) return true;
        Interlocked.Increment(ref _suppressed);
        return false;
    }
}
