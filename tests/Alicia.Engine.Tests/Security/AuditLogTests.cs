using Alicia.Engine.Security.Audit;
using Microsoft.Data.Sqlite;

namespace Alicia.Engine.Tests.Security;

public sealed class AuditLogTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new("alicia-audit");
    private string AuditPath => _dir.Sub("audit.db");
    private AuditLog _log = null!;

    public async Task InitializeAsync()
    {
        _log = new AuditLog(AuditPath);
        for (int i = 1; i <= 5; i++) _log.Record(AuditKinds.AclDenied, $"device-{i}", $"alicia/devices/other/{i}", "publish refused (0x87)", "no publish grant");
        await _log.FlushAsync();
    }

    public async Task DisposeAsync()
    {
        await _log.DisposeAsync();
        _dir.Dispose();
    }

    private void Sql(string sql)
    {
        using var c = new SqliteConnection($"Data Source={AuditPath};Pooling=False");
        c.Open();
        using SqliteCommand cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    [Fact]
    public void An_intact_log_verifies_and_tails_in_order()
    {
        Assert.Null(AuditLog.Verify(AuditPath, out long count));
        Assert.Equal(5, count);
        IReadOnlyList<AuditRecord> tail = AuditLog.Tail(AuditPath, 2);
        Assert.Equal(["device-4", "device-5"], tail.Select(r => r.Identity));
        Assert.Equal(tail[0].Hash, tail[1].PreviousHash);
    }

    [Fact]
    public void An_altered_record_is_reported()
    {
        Sql("UPDATE audit SET decision = 'accepted' WHERE seq = 3");
        Assert.Equal("record 3 was altered: its content does not match its hash", AuditLog.Verify(AuditPath, out _));
    }

    [Fact]
    public void A_removed_record_is_reported()
    {
        Sql("DELETE FROM audit WHERE seq = 2");
        Assert.Equal("record 2 is missing (the next record is 3)", AuditLog.Verify(AuditPath, out _));
    }

    [Fact]
    public void A_rewritten_tail_is_reported_at_its_first_record()
    {
        // Someone removes the last record and renumbers nothing: the chain still holds (truncation is
        // visible only against a known count), but a re-hashed record in the middle breaks the next link.
        Sql("UPDATE audit SET hash = randomblob(32) WHERE seq = 4");
        string? problem = AuditLog.Verify(AuditPath, out _);
        Assert.NotNull(problem);
        Assert.StartsWith("record 4", problem);
    }

    [Fact]
    public async Task The_chain_continues_across_restarts()
    {
        await _log.DisposeAsync();
        _log = new AuditLog(AuditPath);
        _log.Record(AuditKinds.Revoked, "device-1", "", "revoked", "by admin");
        await _log.FlushAsync();
        Assert.Null(AuditLog.Verify(AuditPath, out long count));
        Assert.Equal(6, count);
    }
}
