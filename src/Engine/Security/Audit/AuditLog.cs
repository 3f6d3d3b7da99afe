using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Alicia.Contracts.Messages;
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

    /// <summary>Where the signed checkpoints of this log's head are appended (<c>audit.checkpoints</c> beside <c>audit.db</c>).</summary>
    public string CheckpointPath => AuditCheckpoints.PathFor(Path);

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
    private long _records = -1;
    private volatile string? _checkpointProblem;

    /// <summary>Records in the log as its writer last counted them (-1 before the writer opened it).</summary>
    internal long Records => Interlocked.Read(ref _records);

    /// <summary>Why the last checkpoint could not be written; null once one is written (or none failed).</summary>
    internal string? CheckpointProblem => _checkpointProblem;

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

    private const string CheckpointMarker = "audit.checkpoint";

    private sealed class Anchor(SigningIdentity signer, string path, long every, Action<AuditCheckpoint>? written)
    {
        public readonly SigningIdentity Signer = signer;
        public readonly string Path = path;
        public readonly long Every = every;
        public readonly Action<AuditCheckpoint>? Written = written;
        public readonly CancellationTokenSource Stop = new();
        public long LastRecords = -1; // none written yet: the first checkpoint covers what the log already holds
    }

    private Anchor? _anchor;
    private int _checkpointWanted;
    private readonly System.Collections.Concurrent.ConcurrentQueue<TaskCompletionSource> _checkpointRequests = new();

    /// <summary>
    /// Anchors the chain: from now on the writer signs a checkpoint of the head (<see cref="AuditCheckpoint"/>: record count,
    /// head hash, time) with <paramref name="signer"/> and appends it to <see cref="CheckpointPath"/> at once (covering what
    /// the log holds), every <paramref name="everyRecords"/> records, every <paramref name="interval"/> when the head moved,
    /// and on <see cref="CheckpointAsync"/>. <paramref name="written"/> is told of each (from the writer: it must not block).
    /// </summary>
    public void AnchorWith(SigningIdentity signer, long everyRecords, TimeSpan interval, Action<AuditCheckpoint>? written = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(everyRecords, 1);
        var anchor = new Anchor(signer, CheckpointPath, everyRecords, written);
        Interlocked.Exchange(ref _anchor, anchor)?.Stop.Cancel();
        if (interval > TimeSpan.Zero) _ = TickAsync(anchor, interval);
        AskForCheckpoint();
    }

    private async Task TickAsync(Anchor anchor, TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval, _clock);
        try
        {
            while (await timer.WaitForNextTickAsync(anchor.Stop.Token).ConfigureAwait(false)) AskForCheckpoint();
        }
        catch (OperationCanceledException) { }
    }

    private void AskForCheckpoint()
    {
        Interlocked.Exchange(ref _checkpointWanted, 1);
        _queue.Writer.TryWrite((_clock.GetUtcNow(), CheckpointMarker, "", "", "", "")); // wakes the writer (when full, it is awake anyway)
    }

    /// <summary>
    /// Writes a checkpoint of everything queued so far (when anchored and the head moved) and waits for it, at most
    /// <paramref name="timeout"/> on the log's clock (then <see cref="TimeoutException"/>: a flood still being written). With
    /// <paramref name="detach"/> the log stops anchoring afterwards: the engine calls it when it stops, before its key goes.
    /// </summary>
    public async Task CheckpointAsync(bool detach = false, TimeSpan? timeout = null)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _checkpointRequests.Enqueue(done);
        AskForCheckpoint();
        if (_writer.IsCompleted) done.TrySetResult();
        try
        {
            await done.Task.WaitAsync(timeout ?? Timeout.InfiniteTimeSpan, _clock).ConfigureAwait(false);
        }
        finally
        {
            if (detach) Interlocked.Exchange(ref _anchor, null)?.Stop.Cancel();
        }
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
        (long lastSeq, byte[] head) = ReadHead(c, null);
        Interlocked.Exchange(ref _records, records);
        bool full = records >= MaxRecords, warned = records >= MaxRecords * 9 / 10;
        if (warned) Alarm?.Invoke($"the audit log {Path} holds {records} records of its limit {MaxRecords}");
        var batch = new List<(DateTimeOffset At, string Kind, string Identity, string Topic, string Decision, string Detail)>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < 1000 && _queue.Reader.TryRead(out var item))
            {
                if (item.Kind is not ("audit.flush" or CheckpointMarker)) batch.Add(item);
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
                (lastSeq, head) = Append(c, batch);
                records += batch.Count;
                Interlocked.Exchange(ref _records, records);
                if (!warned && records >= MaxRecords * 9 / 10)
                {
                    warned = true;
                    Alarm?.Invoke($"the audit log {Path} holds {records} records of its limit {MaxRecords} (Gateway:AuditMaxRecords)");
                }
            }
            bool asked = Interlocked.Exchange(ref _checkpointWanted, 0) == 1 || !_checkpointRequests.IsEmpty;
            if (asked) (lastSeq, head) = ReadHead(c, null); // the CLI may have appended records of its own meanwhile
            Checkpoint(lastSeq, head, asked);
            while (_queue.Reader.Count == 0 && _flushRequests.TryDequeue(out TaskCompletionSource? flushed)) flushed.TrySetResult();
            while (_queue.Reader.Count == 0 && _checkpointRequests.TryDequeue(out TaskCompletionSource? anchored)) anchored.TrySetResult();
        }
        (lastSeq, head) = ReadHead(c, null);
        Checkpoint(lastSeq, head, asked: true);
        while (_flushRequests.TryDequeue(out TaskCompletionSource? flushed)) flushed.TrySetResult();
        while (_checkpointRequests.TryDequeue(out TaskCompletionSource? anchored)) anchored.TrySetResult();
    }

    /// <summary>Signs and appends a checkpoint when anchored and due: the first, <see cref="Anchor.Every"/> records on, or asked for with the head moved.</summary>
    private void Checkpoint(long lastSeq, byte[] head, bool asked)
    {
        Anchor? anchor = Volatile.Read(ref _anchor);
        if (anchor is null) return;
        bool due = anchor.LastRecords < 0 || lastSeq - anchor.LastRecords >= anchor.Every || (asked && lastSeq != anchor.LastRecords);
        if (!due) return;
        AuditCheckpoint checkpoint;
        try
        {
            checkpoint = AuditCheckpoints.Sign(anchor.Signer, lastSeq, head, _clock.GetUtcNow());
            AuditCheckpoints.Append(anchor.Path, checkpoint);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException or CryptographicException)
        {
            _checkpointProblem = $"the audit log's checkpoint could not be written to {anchor.Path}: {e.Message}";
            Alarm?.Invoke(_checkpointProblem);
            return;
        }
        _checkpointProblem = null;
        anchor.LastRecords = lastSeq;
        anchor.Written?.Invoke(checkpoint);
    }

    /// <summary>The last record's sequence number and hash (0 and 32 zero bytes for an empty log).</summary>
    private static (long Seq, byte[] Hash) ReadHead(SqliteConnection c, SqliteTransaction? tx)
    {
        using SqliteCommand last = c.CreateCommand();
        last.Transaction = tx;
        last.CommandText = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";
        using SqliteDataReader reader = last.ExecuteReader();
        return reader.Read() ? (reader.GetInt64(0), (byte[])reader[1]) : (0, new byte[32]);
    }

    /// <summary>Appends the batch to the chain in one transaction; returns the new head (last sequence number and hash).</summary>
    private static (long Seq, byte[] Hash) Append(SqliteConnection c, List<(DateTimeOffset At, string Kind, string Identity, string Topic, string Decision, string Detail)> batch)
    {
        using SqliteTransaction tx = c.BeginTransaction(deferred: false);
        (long seq, byte[] previous) = ReadHead(c, tx);
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
        using (SqliteCommand id = c.CreateCommand())
        {
            id.CommandText = "SELECT last_insert_rowid()";
            seq = Convert.ToInt64(id.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
        return (seq, previous);
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
    /// (a record altered, removed, or inserted). The chain alone cannot tell records removed from its end, or a record
    /// rewritten with the chain recomputed after it: <see cref="VerifyAnchored"/> checks those against the signed checkpoints.
    /// </summary>
    public static string? Verify(string path, out long records) => Walk(path, null, out records);

    private static string? Walk(string path, Action<long, byte[]>? onRecord, out long records)
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
            onRecord?.Invoke(r.Sequence, h);
            previous = r.Hash;
            expectedSeq++;
        }
        return null;
    }

    /// <summary>
    /// Verifies the chain and checks it against every checkpoint in <paramref name="checkpointPath"/>: each must be signed by
    /// <paramref name="signer"/> (whose public key is <paramref name="signerKey"/>); the log must hold at least as many records
    /// as each counted (else records were removed from its end), and the chain hash at each checkpoint's count must be the
    /// signed head (else a record up to there was rewritten and the chain recomputed). A log with records but no valid
    /// checkpoint is reported too: without one, neither attack can be seen.
    /// </summary>
    public static AuditVerification VerifyAnchored(string path, string checkpointPath, string signer, NSec.Cryptography.PublicKey? signerKey)
    {
        var problems = new List<string>();
        var checkpoints = new List<(int Line, AuditCheckpoint Checkpoint)>();
        bool fileExists = File.Exists(checkpointPath);
        if (fileExists)
        {
            int number = 0;
            foreach (string line in File.ReadLines(checkpointPath))
            {
                number++;
                if (line.Length == 0) continue;
                AuditCheckpoint? checkpoint = AuditCheckpoints.Parse(line, out string? problem);
                if (checkpoint is null) problems.Add($"checkpoint line {number} is not valid: {problem} (the checkpoint file was tampered with)");
                else if (checkpoint.Signer != signer) problems.Add($"checkpoint line {number} is signed by '{Untrusted.EscapeControls(checkpoint.Signer)}', not by the engine '{signer}'");
                else if (signerKey is null) problems.Add($"checkpoint line {number} cannot be checked: no public key of '{signer}' in the key directory");
                else if (!AuditCheckpoints.SignatureValid(checkpoint, signerKey)) problems.Add($"checkpoint line {number}: its signature does not verify (the checkpoint was altered)");
                else checkpoints.Add((number, checkpoint));
            }
        }

        var byCount = new Dictionary<long, List<(int Line, AuditCheckpoint Checkpoint)>>();
        foreach (var entry in checkpoints)
        {
            if (!byCount.TryGetValue(entry.Checkpoint.Records, out var list)) byCount[entry.Checkpoint.Records] = list = [];
            list.Add(entry);
        }
        string? rewritten = null;
        string? broken = Walk(path, (seq, hash) =>
        {
            if (rewritten is not null || !byCount.TryGetValue(seq, out var atSeq)) return;
            foreach ((int line, AuditCheckpoint checkpoint) in atSeq)
            {
                if (hash.AsSpan().SequenceEqual(checkpoint.HeadHash)) continue;
                rewritten = $"the log was rewritten: the chain hash of record {seq} differs from the head signed in the checkpoint of {When(checkpoint)} (line {line}), so a record up to {seq} was changed and the chain recomputed";
                return;
            }
        }, out long records);
        if (broken is not null) problems.Add(broken);
        if (rewritten is not null) problems.Add(rewritten);

        (int Line, AuditCheckpoint Checkpoint)? widest = checkpoints.Count == 0 ? null : checkpoints.MaxBy(c => c.Checkpoint.Records);
        if (broken is null && widest is { } w && w.Checkpoint.Records > records)
            problems.Add($"the log was truncated: it holds {records} records, but the checkpoint of {When(w.Checkpoint)} (line {w.Line}) counted {w.Checkpoint.Records}: {w.Checkpoint.Records - records} records were removed from its end");
        if (records > 0 && checkpoints.Count == 0)
            problems.Add(fileExists
                ? $"no valid checkpoint in {checkpointPath}: records removed from the log's end or rewritten cannot be detected"
                : $"no checkpoint file {checkpointPath}: records removed from the log's end or rewritten cannot be detected (the engine writes it while its gateway runs)");
        AuditCheckpoint? latest = checkpoints.Count == 0 ? null : checkpoints.MaxBy(c => c.Checkpoint.AtUnixMs).Checkpoint;
        return new AuditVerification(records, checkpoints.Count, latest, problems);
    }

    internal static string When(AuditCheckpoint checkpoint) =>
        DateTimeOffset.FromUnixTimeMilliseconds(checkpoint.AtUnixMs).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

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
        Interlocked.Exchange(ref _anchor, null)?.Stop.Cancel(); // its timer, if the engine did not stop anchoring first
        SqliteConnection.ClearAllPools();
    }
}
