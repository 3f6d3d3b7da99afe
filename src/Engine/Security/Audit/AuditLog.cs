using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Alicia.Engine.Security.Gateway;
using Microsoft.Data.Sqlite;

namespace Alicia.Engine.Security.Audit;

/// <summary>
/// An append-only, tamper-evident log of security decisions in SQLite. Each record carries the SHA-256
/// of the previous record and its own hash over both, so altering or removing any record breaks the
/// chain at that point (<see cref="Verify"/>). Decisions are queued and written in batches by one
/// writer, so the broker's hot path never waits on the disk; if the queue ever overflows, what was
/// lost is itself recorded.
/// </summary>
internal sealed class AuditLog : IAsyncDisposable
{
    private const int QueueCapacity = 100_000;
    private readonly string _connectionString;
    private readonly Channel<(DateTimeOffset At, string Kind, string Identity, string Topic, string Decision, string Detail)> _queue;
    private readonly Task _writer;
    private readonly TimeProvider _clock;
    private long _overflowed;

    public AuditLog(string path, TimeProvider? clock = null) : this(path, clock, startWriter: true) { }

    private AuditLog(string path, TimeProvider? clock, bool startWriter)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _clock = clock ?? TimeProvider.System;
        _connectionString = new SqliteConnectionStringBuilder { DataSource = Path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString();
        RestrictToOwner(Path);
        using (SqliteConnection c = Open())
        {
            Execute(c, """
                PRAGMA journal_mode=WAL;
                CREATE TABLE IF NOT EXISTS audit (
                  seq INTEGER PRIMARY KEY,
                  at TEXT NOT NULL, kind TEXT NOT NULL, identity TEXT NOT NULL, topic TEXT NOT NULL,
                  decision TEXT NOT NULL, detail TEXT NOT NULL,
                  prev_hash BLOB NOT NULL, hash BLOB NOT NULL);
                """);
        }
        _queue = Channel.CreateBounded<(DateTimeOffset, string, string, string, string, string)>(
            new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
        _writer = startWriter ? Task.Run(WriteLoopAsync) : Task.CompletedTask;
    }

    public string Path { get; }

    /// <summary>
    /// Creates the database file readable and writable by its owner only (0600), or narrows an existing one and its
    /// <c>-wal</c>/<c>-shm</c> files. SQLite gives the WAL and shared-memory files it creates the database file's mode.
    /// </summary>
    internal static void RestrictToOwner(string path)
    {
        if (OperatingSystem.IsWindows()) return;
        const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        if (!File.Exists(path))
        {
            try
            {
                using var created = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = OwnerOnly });
            }
            catch (IOException) when (File.Exists(path)) { } // created meanwhile by another writer: narrowed below
        }
        foreach (string file in (ReadOnlySpan<string>)[path, path + "-wal", path + "-shm", path + "-journal"])
        {
            if (File.Exists(file) && (File.GetUnixFileMode(file) & ~OwnerOnly) != 0) File.SetUnixFileMode(file, OwnerOnly);
        }
    }

    /// <summary>
    /// The most records the log holds (<c>Gateway:AuditMaxRecords</c>). Past it the chain ends with one
    /// <see cref="AuditKinds.Suppressed"/> record and later records are only counted (<see cref="Suppressed"/>), so a flood
    /// cannot fill the disk and the chain stays intact. <see cref="Alarm"/> is raised at 90 % and when full.
    /// </summary>
    public long MaxRecords { get; set; } = 1_000_000;

    /// <summary>Called (from the writer) when the log nears or reaches <see cref="MaxRecords"/>.</summary>
    public Action<string>? Alarm { get; set; }

    /// <summary>Records not written because the log was full.</summary>
    public long Suppressed => Interlocked.Read(ref _suppressed);

    private long _suppressed;

    /// <summary>
    /// Queues a record; never blocks. Identity, topic, decision and detail often carry what a client sent (client ids,
    /// topics, reason strings): they are stored with control characters escaped and bounded in length
    /// (<see cref="Untrusted.Escape"/>), so no record can forge a line in <c>alicia audit tail</c> or reach a terminal raw.
    /// </summary>
    public void Record(string kind, string identity, string topic, string decision, string detail)
    {
        if (!_queue.Writer.TryWrite((_clock.GetUtcNow(), kind, Untrusted.Escape(identity), Untrusted.Escape(topic), Untrusted.Escape(decision), Untrusted.Escape(detail, 2048))))
            Interlocked.Increment(ref _overflowed);
    }

    /// <summary>Waits until everything queued so far is on disk.</summary>
    public async Task FlushAsync()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _flushRequests.Enqueue(done);
        Record("audit.flush", "", "", "", "");
        await done.Task.ConfigureAwait(false);
    }

    private readonly System.Collections.Concurrent.ConcurrentQueue<TaskCompletionSource> _flushRequests = new();

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        Execute(c, "PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;");
        return c;
    }

    private static void Execute(SqliteConnection c, string sql)
    {
        using SqliteCommand cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private async Task WriteLoopAsync()
    {
        using SqliteConnection c = Open();
        long records;
        using (SqliteCommand count = c.CreateCommand())
        {
            count.CommandText = "SELECT COUNT(*) FROM audit";
            records = Convert.ToInt64(count.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
        bool full = records >= MaxRecords, warned = records >= MaxRecords * 9 / 10;
        if (warned) Alarm?.Invoke($"the audit log {Path} holds {records} records of its limit {MaxRecords}");
        var batch = new List<(DateTimeOffset At, string Kind, string Identity, string Topic, string Decision, string Detail)>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < 1000 && _queue.Reader.TryRead(out var item))
            {
                if (item.Kind != "audit.flush") batch.Add(item);
            }
            long lost = Interlocked.Exchange(ref _overflowed, 0);
            if (lost > 0) batch.Add((_clock.GetUtcNow(), AuditKinds.Overflow, "", "", "lost", $"{lost} records were dropped: the audit queue was full"));
            // Bounded: one record is kept for the "suppressed" record that ends the chain when the log is full.
            long room = Math.Max(0, MaxRecords - 1 - records);
            if (batch.Count > room)
            {
                int keep = (int)Math.Min(room, batch.Count);
                long dropped = batch.Count - keep;
                batch.RemoveRange(keep, batch.Count - keep);
                Interlocked.Add(ref _suppressed, dropped);
                if (!full)
                {
                    full = true;
                    batch.Add((_clock.GetUtcNow(), AuditKinds.Suppressed, "", "", "suppressed",
                        $"the audit log reached its limit of {MaxRecords} records (Gateway:AuditMaxRecords): later records are not written; {dropped} suppressed so far"));
                    Alarm?.Invoke($"the audit log {Path} is full ({MaxRecords} records): later security decisions are not recorded; archive it and start a new one, or raise Gateway:AuditMaxRecords");
                }
            }
            if (batch.Count > 0)
            {
                Append(c, batch);
                records += batch.Count;
                if (!warned && records >= MaxRecords * 9 / 10)
                {
                    warned = true;
                    Alarm?.Invoke($"the audit log {Path} holds {records} records of its limit {MaxRecords} (Gateway:AuditMaxRecords)");
                }
            }
            while (_queue.Reader.Count == 0 && _flushRequests.TryDequeue(out TaskCompletionSource? flushed)) flushed.TrySetResult();
        }
        while (_flushRequests.TryDequeue(out TaskCompletionSource? flushed)) flushed.TrySetResult();
    }

    private static void Append(SqliteConnection c, List<(DateTimeOffset At, string Kind, string Identity, string Topic, string Decision, string Detail)> batch)
    {
        using SqliteTransaction tx = c.BeginTransaction(deferred: false);
        byte[] previous;
        using (SqliteCommand last = c.CreateCommand())
        {
            last.Transaction = tx;
            last.CommandText = "SELECT hash FROM audit ORDER BY seq DESC LIMIT 1";
            previous = last.ExecuteScalar() as byte[] ?? new byte[32];
        }
        using SqliteCommand cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "INSERT INTO audit (at, kind, identity, topic, decision, detail, prev_hash, hash) VALUES ($at, $kind, $identity, $topic, $decision, $detail, $prev, $hash)";
        SqliteParameter at = cmd.Parameters.Add("$at", SqliteType.Text), kind = cmd.Parameters.Add("$kind", SqliteType.Text),
            identity = cmd.Parameters.Add("$identity", SqliteType.Text), topic = cmd.Parameters.Add("$topic", SqliteType.Text),
            decision = cmd.Parameters.Add("$decision", SqliteType.Text), detail = cmd.Parameters.Add("$detail", SqliteType.Text),
            prev = cmd.Parameters.Add("$prev", SqliteType.Blob), hash = cmd.Parameters.Add("$hash", SqliteType.Blob);
        foreach (var r in batch)
        {
            string when = r.At.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
            byte[] h = Hash(previous, when, r.Kind, r.Identity, r.Topic, r.Decision, r.Detail);
            at.Value = when; kind.Value = r.Kind; identity.Value = r.Identity; topic.Value = r.Topic;
            decision.Value = r.Decision; detail.Value = r.Detail; prev.Value = previous; hash.Value = h;
            cmd.ExecuteNonQuery();
            previous = h;
        }
        tx.Commit();
    }

    /// <summary>Appends one record right away (for short-lived writers such as the CLI).</summary>
    public static void AppendNow(string path, string kind, string identity, string topic, string decision, string detail, TimeProvider? clock = null)
    {
        var log = new AuditLog(path, clock, startWriter: false);
        using SqliteConnection c = log.Open();
        Append(c, [((clock ?? TimeProvider.System).GetUtcNow(), kind, Untrusted.Escape(identity), Untrusted.Escape(topic), Untrusted.Escape(decision), Untrusted.Escape(detail, 2048))]);
    }

    /// <summary>SHA-256 over the previous hash and the record's fields, each length-prefixed so no two records collide.</summary>
    public static byte[] Hash(byte[] previous, string at, string kind, string identity, string topic, string decision, string detail)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(previous);
        Span<byte> length = stackalloc byte[4];
        foreach (string field in (ReadOnlySpan<string>)[at, kind, identity, topic, decision, detail])
        {
            byte[] bytes = Encoding.UTF8.GetBytes(field);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
            sha.AppendData(length);
            sha.AppendData(bytes);
        }
        return sha.GetHashAndReset();
    }

    /// <summary>The last <paramref name="count"/> records, oldest first.</summary>
    public static IReadOnlyList<AuditRecord> Tail(string path, int count)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        c.Open();
        using SqliteCommand cmd = c.CreateCommand();
        cmd.CommandText = "SELECT seq, at, kind, identity, topic, decision, detail, prev_hash, hash FROM (SELECT * FROM audit ORDER BY seq DESC LIMIT $n) ORDER BY seq";
        cmd.Parameters.AddWithValue("$n", count);
        return Read(cmd);
    }

    /// <summary>
    /// Walks the whole chain. Returns null when intact, else a description of the first broken link
    /// (a record altered, removed, or inserted).
    /// </summary>
    public static string? Verify(string path, out long records)
    {
        records = 0;
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        c.Open();
        using SqliteCommand cmd = c.CreateCommand();
        cmd.CommandText = "SELECT seq, at, kind, identity, topic, decision, detail, prev_hash, hash FROM audit ORDER BY seq";
        using SqliteDataReader reader = cmd.ExecuteReader();
        byte[] previous = new byte[32];
        long expectedSeq = 1;
        while (reader.Read())
        {
            AuditRecord r = ReadRecord(reader);
            string storedAt = reader.GetString(1);
            records++;
            if (r.Sequence != expectedSeq) return $"record {expectedSeq} is missing (the next record is {r.Sequence})";
            if (!r.PreviousHash.AsSpan().SequenceEqual(previous)) return $"record {r.Sequence} does not follow record {r.Sequence - 1}: its previous-hash does not match (a record before it was altered or removed)";
            byte[] h = Hash(previous, storedAt, r.Kind, r.Identity, r.Topic, r.Decision, r.Detail);
            if (!h.AsSpan().SequenceEqual(r.Hash)) return $"record {r.Sequence} was altered: its content does not match its hash";
            previous = r.Hash;
            expectedSeq++;
        }
        return null;
    }

    private static List<AuditRecord> Read(SqliteCommand cmd)
    {
        using SqliteDataReader reader = cmd.ExecuteReader();
        var list = new List<AuditRecord>();
        while (reader.Read()) list.Add(ReadRecord(reader));
        return list;
    }

    private static AuditRecord ReadRecord(SqliteDataReader r) => new(
        r.GetInt64(0), DateTimeOffset.Parse(r.GetString(1), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal),
        r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), (byte[])r[7], (byte[])r[8]);

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        SqliteConnection.ClearAllPools();
    }
}
