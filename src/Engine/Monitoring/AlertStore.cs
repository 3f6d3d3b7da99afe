using Alicia.Contracts.Messages;
using Microsoft.Data.Sqlite;

namespace Alicia.Engine.Monitoring;

/// <summary>
/// Alert history in SQLite (owner-only file): one row per firing, closed when it clears; cleared rows older than the
/// retention are pruned. Not thread-safe: the alert manager serialises calls.
/// </summary>
internal sealed class AlertStore : IDisposable
{
    private readonly SqliteConnection _connection;

    public AlertStore(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        _connection = Storage.OwnerOnlySqlite.Open(Path);
        Execute("PRAGMA busy_timeout=5000;");
        Execute("""
            CREATE TABLE IF NOT EXISTS alerts(
                id TEXT NOT NULL,
                rule TEXT NOT NULL,
                subject TEXT NOT NULL,
                severity TEXT NOT NULL,
                message TEXT NOT NULL,
                fired_at INTEGER NOT NULL,
                cleared_at INTEGER,
                PRIMARY KEY(id, fired_at));
            CREATE INDEX IF NOT EXISTS alerts_by_cleared ON alerts(cleared_at);
            """);
    }

    public string Path { get; }

    public void Fired(AlertNotice alert)
    {
        using SqliteCommand cmd = Command("INSERT OR REPLACE INTO alerts(id, rule, subject, severity, message, fired_at, cleared_at) VALUES($id, $rule, $subject, $severity, $message, $fired, NULL);");
        cmd.Parameters.AddWithValue("$id", alert.Id);
        cmd.Parameters.AddWithValue("$rule", alert.Rule);
        cmd.Parameters.AddWithValue("$subject", alert.Subject);
        cmd.Parameters.AddWithValue("$severity", alert.Severity);
        cmd.Parameters.AddWithValue("$message", alert.Message);
        cmd.Parameters.AddWithValue("$fired", alert.FiredAt.UtcTicks);
        cmd.ExecuteNonQuery();
    }

    public void Cleared(AlertNotice alert)
    {
        using SqliteCommand cmd = Command("UPDATE alerts SET cleared_at=$cleared, message=$message WHERE id=$id AND fired_at=$fired;");
        cmd.Parameters.AddWithValue("$id", alert.Id);
        cmd.Parameters.AddWithValue("$fired", alert.FiredAt.UtcTicks);
        cmd.Parameters.AddWithValue("$cleared", alert.ClearedAt.UtcTicks);
        cmd.Parameters.AddWithValue("$message", alert.Message);
        cmd.ExecuteNonQuery();
    }

    /// <summary>Closes alerts a previous run left open: their conditions are judged afresh and fire again if they still hold.</summary>
    public int CloseOpen(DateTimeOffset now)
    {
        using SqliteCommand cmd = Command("UPDATE alerts SET cleared_at=$now WHERE cleared_at IS NULL;");
        cmd.Parameters.AddWithValue("$now", now.UtcTicks);
        return cmd.ExecuteNonQuery();
    }

    /// <summary>Deletes alerts cleared before <paramref name="before"/>.</summary>
    public int Prune(DateTimeOffset before)
    {
        using SqliteCommand cmd = Command("DELETE FROM alerts WHERE cleared_at IS NOT NULL AND cleared_at < $before;");
        cmd.Parameters.AddWithValue("$before", before.UtcTicks);
        return cmd.ExecuteNonQuery();
    }

    /// <summary>The most recent alerts, newest first (firing and cleared).</summary>
    public List<AlertNotice> History(int limit = 100)
    {
        using SqliteCommand cmd = Command("SELECT id, rule, subject, severity, message, fired_at, cleared_at FROM alerts ORDER BY fired_at DESC LIMIT $limit;");
        cmd.Parameters.AddWithValue("$limit", limit);
        using SqliteDataReader reader = cmd.ExecuteReader();
        var alerts = new List<AlertNotice>();
        while (reader.Read())
        {
            alerts.Add(new AlertNotice
            {
                Id = reader.GetString(0),
                Rule = reader.GetString(1),
                Subject = reader.GetString(2),
                Severity = reader.GetString(3),
                Message = reader.GetString(4),
                FiredAt = new DateTimeOffset(reader.GetInt64(5), TimeSpan.Zero),
                State = reader.IsDBNull(6) ? AlertState.Firing : AlertState.Cleared,
                ClearedAt = reader.IsDBNull(6) ? default : new DateTimeOffset(reader.GetInt64(6), TimeSpan.Zero),
            });
        }
        return alerts;
    }

    private SqliteCommand Command(string sql)
    {
        SqliteCommand cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        return cmd;
    }

    private void Execute(string sql)
    {
        using SqliteCommand cmd = Command(sql);
        cmd.ExecuteNonQuery();
    }

    public void Dispose() => _connection.Dispose();
}
