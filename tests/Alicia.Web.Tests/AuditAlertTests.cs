using Alicia.Contracts.Messages;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Security;
using Alicia.Engine.Security.Audit;
using Microsoft.Data.Sqlite;

namespace Alicia.Web.Tests;

/// <summary>
/// The audit-chain alerts on a real audit.db (SQLite) and its real checkpoint file: each fires while its condition holds
/// and clears when it ends (the log's bound raised, the checkpoint file writable again, the tampered record restored).
/// </summary>
public sealed class AuditAlertTests : IAsyncDisposable
{
    private readonly TempDirectory _dir = new("alicia-audit-alerts");
    private readonly SigningIdentity _engineKey;
    private readonly AuditLog _log;
    private readonly AlertManager _alerts;
    private readonly AuditWatch _watch;

    public AuditAlertTests()
    {
        _engineKey = new KeyDirectory(_dir.Keys).Create("alicia-engine");
        _log = new AuditLog(Path.Combine(_dir.Data, "audit.db"));
        _log.AnchorWith(_engineKey, everyRecords: 1, TimeSpan.Zero);
        _alerts = new AlertManager(new AlertOptions(), new AlertStore(Path.Combine(_dir.Data, "alerts.db")), TimeProvider.System);
        // Verification is started by hand below (Verify), never by the interval.
        _watch = new AuditWatch(_log, _alerts, _engineKey, TimeSpan.FromDays(365), TimeProvider.System);
    }

    public async ValueTask DisposeAsync()
    {
        await _log.DisposeAsync();
        _alerts.Dispose();
        _engineKey.Dispose();
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private async Task Write(int records)
    {
        for (int i = 0; i < records; i++) _log.Record(AuditKinds.AclDenied, $"sensor-{i}", "alicia/devices/x/command", "publish denied (0x87)", "no grant");
        await _log.FlushAsync();
        await _log.CheckpointAsync();
    }

    private AlertNotice? Judge(string id)
    {
        _watch.Check();
        _alerts.Observe(new SystemHealth());
        return _alerts.Firing.FirstOrDefault(a => a.Id == id);
    }

    [Fact]
    public async Task A_log_near_its_bound_fires_a_capacity_alert_that_clears_when_the_bound_is_raised()
    {
        _log.MaxRecords = 10;
        await Write(8);
        Assert.Null(Judge("audit:capacity"));

        await Write(1);
        AlertNotice alert = Judge("audit:capacity")!;
        Assert.NotNull(alert);
        Assert.Equal("warning", alert.Severity);
        Assert.Contains("9 records of its limit 10", alert.Message);

        _log.MaxRecords = 100;
        Assert.Null(Judge("audit:capacity"));
        Assert.Contains(_alerts.History(), a => a.Id == "audit:capacity" && a.State == AlertState.Cleared);
    }

    [Fact]
    public async Task A_tampered_record_fires_a_chain_alert_that_clears_once_the_record_is_restored()
    {
        await Write(5);
        _watch.Verify();
        Assert.Null(Judge("audit:chain"));

        Sql("UPDATE audit SET detail = 'nothing happened' WHERE seq = 3");
        _watch.Verify();
        AlertNotice alert = Judge("audit:chain")!;
        Assert.NotNull(alert);
        Assert.Equal("critical", alert.Severity);
        Assert.Contains("record 3", alert.Message);

        Sql("UPDATE audit SET detail = 'no grant' WHERE seq = 3");
        _watch.Verify();
        Assert.Null(Judge("audit:chain"));
    }

    [Fact]
    public async Task A_checkpoint_that_cannot_be_written_fires_an_alert_that_clears_with_the_next_written_checkpoint()
    {
        await Write(1);
        string checkpoints = AuditCheckpoints.PathFor(_log.Path);
        File.Move(checkpoints, checkpoints + ".saved");
        Directory.CreateDirectory(checkpoints); // a directory where the file belongs: appending to it fails

        await Write(1);
        AlertNotice alert = Judge("audit:checkpoint")!;
        Assert.NotNull(alert);
        Assert.Contains("checkpoint could not be written", alert.Message);

        Directory.Delete(checkpoints);
        File.Move(checkpoints + ".saved", checkpoints);
        await Write(1);
        Assert.Null(Judge("audit:checkpoint"));
    }

    private void Sql(string sql)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _log.Path, Pooling = false }.ToString());
        c.Open();
        using SqliteCommand cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
