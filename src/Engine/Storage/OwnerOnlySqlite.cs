using Microsoft.Data.Sqlite;

namespace Alicia.Engine.Storage;

/// <summary>Opens an engine data file: its directory created, owner-only (SQLite gives -wal and -shm the database's mode), WAL.</summary>
internal static class OwnerOnlySqlite
{
    public static SqliteConnection Open(string fullPath)
    {
        if (Path.GetDirectoryName(fullPath) is { Length: > 0 } dir) Directory.CreateDirectory(dir);
        Security.Audit.AuditLog.RestrictToOwner(fullPath);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = fullPath, Pooling = false }.ToString());
        connection.Open();
        using SqliteCommand wal = connection.CreateCommand();
        wal.CommandText = "PRAGMA journal_mode=WAL;";
        wal.ExecuteNonQuery();
        return connection;
    }
}
