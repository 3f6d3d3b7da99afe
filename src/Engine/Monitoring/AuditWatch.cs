using Alicia.Engine.Security;
using Alicia.Engine.Security.Audit;

namespace Alicia.Engine.Monitoring;

/// <summary>
/// The audit-chain alert rules: the log near or at its bound (<c>Gateway:AuditMaxRecords</c>, from 90 %), a checkpoint that
/// could not be written, and the chain or its signed checkpoints failing verification (walked off the evaluation thread,
/// every <see cref="AlertOptions.AuditVerifyInterval"/>). Each alert holds while its condition does and clears after.
/// </summary>
internal sealed class AuditWatch(AuditLog log, AlertManager alerts, SigningIdentity signer, TimeSpan verifyInterval, TimeProvider clock)
{
    private DateTimeOffset _nextVerify = DateTimeOffset.MinValue;
    private int _verifying;
    private volatile string? _verificationProblem;

    /// <summary>Judges the conditions now (each health evaluation); starts a verification when one is due.</summary>
    public void Check()
    {
        long records = log.Records, max = log.MaxRecords;
        string? capacity = records >= 0 && records >= max * 9 / 10
            ? $"the audit log {log.Path} holds {records} records of its limit {max} (Gateway:AuditMaxRecords){(records >= max ? ": later security decisions are not recorded" : "")}"
            : null;
        alerts.Condition("audit:capacity", "audit", "capacity", records >= max ? "critical" : "warning", capacity);
        alerts.Condition("audit:checkpoint", "audit", "checkpoint", "critical", log.CheckpointProblem);
        alerts.Condition("audit:chain", "audit", "chain", "critical", _verificationProblem);

        DateTimeOffset now = clock.GetUtcNow();
        if (now < _nextVerify || Interlocked.CompareExchange(ref _verifying, 1, 0) != 0) return;
        _nextVerify = now + verifyInterval;
        _ = Task.Run(() =>
        {
            try { Verify(); }
            finally { Volatile.Write(ref _verifying, 0); }
        });
    }

    /// <summary>Walks the chain and checks it against the engine's signed checkpoints (as <c>alicia audit verify</c> does).</summary>
    public void Verify()
    {
        try
        {
            AuditVerification result = AuditLog.VerifyAnchored(log.Path, AuditCheckpoints.PathFor(log.Path), signer.Name, signer.PublicKey);
            _verificationProblem = result.Intact ? null : $"the audit log {log.Path} failed verification: {string.Join("; ", result.Problems.Take(3))}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
        {
            _verificationProblem = $"the audit log {log.Path} could not be verified: {e.Message}";
        }
    }
}
