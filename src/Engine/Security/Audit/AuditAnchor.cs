using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Microsoft.Extensions.Logging;

namespace Alicia.Engine.Security.Audit;

/// <summary>
/// Anchors the engine's audit log while its gateway runs: checkpoints signed with the engine's key, appended to the
/// checkpoint file (<see cref="AuditLog.AnchorWith"/>) and published retained on <c>alicia/system/audit/checkpoint</c>,
/// so a copy lives outside the data directory with every subscriber that keeps it.
/// </summary>
internal static class AuditAnchor
{
    public static void Start(AuditLog audit, AliciaEngine engine, long everyRecords, TimeSpan interval, ILogger logger) =>
        audit.AnchorWith(engine.Identity, everyRecords, interval, checkpoint => _ = PublishAsync(engine, checkpoint, logger));

    /// <summary>
    /// The last checkpoint, before the engine's key goes: the log stops anchoring until the next start. Bounded, so a
    /// flood still being written cannot hold the engine's stop; what it leaves unanchored the next start's checkpoint covers.
    /// </summary>
    public static async Task StopAsync(AuditLog audit, ILogger logger)
    {
        try
        {
            await audit.CheckpointAsync(detach: true, timeout: TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            logger.LogWarning("The audit log's last checkpoint was not written within 10 s of stopping; the next start writes one");
        }
    }

    private static async Task PublishAsync(AliciaEngine engine, AuditCheckpoint checkpoint, ILogger logger)
    {
        try
        {
            await engine.Bus.PublishAsync(checkpoint, new PublishOptions { Retain = true }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The file holds the checkpoint; the bus copy is a second anchor, retried with the next checkpoint.
            logger.LogWarning("Audit checkpoint of {Records} records not published: {Reason}", checkpoint.Records, e.Message);
        }
    }
}
