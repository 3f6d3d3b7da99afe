using Alicia.Engine.Security;
using Microsoft.Extensions.Logging;

namespace Alicia.Engine.Bus;

/// <summary>
/// Logs refused messages with their reason, at most a few per second: a flood of forgeries is counted
/// in full by the metrics but must not drown the log (or the disk).
/// </summary>
internal sealed class RejectionLog(ILogger logger, int perSecond = 10)
{
    private long _windowStart;
    private int _inWindow;
    private long _suppressed;

    public void Log(string topic, Verdict verdict)
    {
        long now = Environment.TickCount64;
        if (now - Interlocked.Read(ref _windowStart) >= 1000)
        {
            Interlocked.Exchange(ref _windowStart, now);
            Interlocked.Exchange(ref _inWindow, 0);
            long suppressed = Interlocked.Exchange(ref _suppressed, 0);
            if (suppressed > 0) logger.LogWarning("{Count} more messages were refused in the last second (see the alicia.bus.messages.rejected metric)", suppressed);
        }
        if (Interlocked.Increment(ref _inWindow) <= perSecond)
            logger.LogWarning("Refused message on {Topic}: {Reason}: {Detail}", topic, verdict.Reason.ToName(), verdict.Detail);
        else Interlocked.Increment(ref _suppressed);
    }
}
