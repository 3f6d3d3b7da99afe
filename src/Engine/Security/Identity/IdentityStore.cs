using System.Security.Cryptography.X509Certificates;
using Alicia.Engine.Security.Gateway;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alicia.Engine.Security.Identity;

internal enum IdentityStatus
{
    Active,
    Revoked,
}

/// <summary>Where a certificate stands in its identity's life.</summary>
internal enum CertificateState
{
    /// <summary>The identity's certificate.</summary>
    Current,
    /// <summary>Replaced by a renewal; still accepted until <see cref="CertificateEntry.ValidUntil"/>.</summary>
    Previous,
    /// <summary>Replaced, and its overlap is over (or it was replaced twice).</summary>
    Retired,
    /// <summary>Its identity was revoked.</summary>
    Revoked,
}

/// <summary>One issued certificate of an identity.</summary>
internal sealed record CertificateEntry(
    string Thumbprint, string Serial, string IdentityId, DateTimeOffset NotBefore, DateTimeOffset NotAfter,
    CertificateState State, DateTimeOffset? ValidUntil, DateTimeOffset IssuedAt);

/// <summary>A provisioned identity as stored (including revoked ones).</summary>
internal sealed record IdentityEntry(
    string Id, IdentityKind Kind, IReadOnlyList<string> Roles, IReadOnlyList<string> ExtraSubscriptions,
    IdentityStatus Status, string PublicKey, string? PreviousPublicKey, DateTimeOffset? PreviousKeyValidUntil,
    bool HasPassword, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt, string? RevokedReason,
    IReadOnlyList<CertificateEntry> Certificates)
{
    public IdentityRecord ToRecord() => new(Id, Kind, Roles, ExtraSubscriptions);

    /// <summary>The identity's current certificate, if any.</summary>
    public CertificateEntry? CurrentCertificate => Certificates.FirstOrDefault(c => c.State == CertificateState.Current);
}

/// <summary>
/// The provisioned identities, in SQLite (<c>{DataDirectory}/identities.db</c>), shared by the CLI and the
/// running engine. Reads are served from an in-memory snapshot (no I/O on a connect); the CLI's changes
/// reach a running engine through a change log the store polls (<see cref="StartWatching"/>): one indexed
/// <c>SELECT</c> per interval. <see cref="Changed"/> fires for every identity whose standing changed:
/// provisioned, revoked, renewed, and also when a renewal's overlap ends or a certificate expires, so a
/// listener re-checks that identity's live connections with <see cref="TryAuthenticate(X509Certificate2, out IdentityRecord, out string)"/>.
/// </summary>
internal sealed class IdentityStore : IIdentityDirectory, IDisposable
{
    public const string FileName = "identities.db";

    private readonly string _connectionString;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly Lock _pollLock = new();
    private readonly SqliteConnection _watch;
    private Snapshot _snapshot = Snapshot.Empty;
    private long _lastSeq;
    private DateTimeOffset _lastDeadlineCheck;
    private ITimer? _timer;
    private bool _disposed;

    public IdentityStore(string databasePath, TimeProvider? clock = null, ILogger<IdentityStore>? logger = null)
    {
        _clock = clock ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        DatabasePath = Path.GetFullPath(databasePath);
        string? dir = Path.GetDirectoryName(DatabasePath);
        if (dir is not null) SecretFiles.EnsurePrivateDirectory(dir);
        // The database holds password hashes: created 0600, or narrowed to 0600 with its -wal/-shm files when an older
        // version left them wider (SQLite gives the -wal and -shm files it creates the database's mode).
        Audit.AuditLog.RestrictToOwner(DatabasePath);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 10,
        }.ToString();
        _watch = new SqliteConnection(_connectionString);
        _watch.Open();
        CreateSchema(_watch);
        _lastDeadlineCheck = _clock.GetUtcNow();
        using (SqliteCommand cmd = _watch.CreateCommand())
        {
            cmd.CommandText = "SELECT coalesce(max(seq), 0) FROM changes";
            _lastSeq = (long)cmd.ExecuteScalar()!; // read before the data, so nothing committed in between is missed
        }
        Reload();
    }

    /// <summary>The store of <paramref name="dataDirectory"/> (<c>{DataDirectory}/identities.db</c>).</summary>
    public static IdentityStore Open(string dataDirectory, TimeProvider? clock = null, ILogger<IdentityStore>? logger = null) =>
        new(PathFor(dataDirectory), clock, logger);

    public static string PathFor(string dataDirectory) => Path.Combine(Path.GetFullPath(dataDirectory), FileName);

    public string DatabasePath { get; }

    /// <inheritdoc/>
    public event Action<string>? Changed;

    // ---- reads (snapshot) ----

    public bool TryGet(string id, out IdentityRecord identity)
    {
        if (_snapshot.ById.TryGetValue(id, out IdentityEntry? entry) && entry.Status == IdentityStatus.Active)
        {
            identity = entry.ToRecord();
            return true;
        }
        identity = null!;
        return false;
    }

    /// <summary>An identity by id, including a revoked one.</summary>
    public IdentityEntry? Find(string id) => _snapshot.ById.GetValueOrDefault(id);

    /// <summary>Every identity, ordered by id.</summary>
    public IReadOnlyList<IdentityEntry> List() => _snapshot.Ordered;

    /// <summary>Every active identity's record (what the ACL file is generated from).</summary>
    public IReadOnlyList<IdentityRecord> ActiveRecords() =>
        [.. _snapshot.Ordered.Where(e => e.Status == IdentityStatus.Active).Select(e => e.ToRecord())];

    public bool TryAuthenticate(X509Certificate2 certificate, out IdentityRecord identity, out string reason)
    {
        identity = null!;
        Snapshot s = _snapshot;
        DateTimeOffset now = _clock.GetUtcNow();
        string thumbprint = CertificateAuthority.ThumbprintOf(certificate);
        string? cn = CertificateAuthority.CommonNameOf(certificate);
        if (!s.ByThumbprint.TryGetValue(thumbprint, out CertificateEntry? cert))
        {
            reason = cn is not null && s.ById.ContainsKey(cn)
                ? $"unknown certificate (serial {certificate.SerialNumber}) for '{cn}': not issued to it by this installation"
                : $"unknown certificate (subject '{cn ?? certificate.Subject}'): no such identity is provisioned";
            return false;
        }
        if (!s.ById.TryGetValue(cert.IdentityId, out IdentityEntry? entry))
        {
            reason = $"certificate of unknown identity '{cert.IdentityId}'";
            return false;
        }
        if (!string.Equals(cn, entry.Id, StringComparison.Ordinal))
        {
            reason = $"certificate subject '{cn}' does not match identity '{entry.Id}'";
            return false;
        }
        if (entry.Status == IdentityStatus.Revoked)
        {
            reason = $"identity '{entry.Id}' is revoked{(entry.RevokedAt is { } at ? $" since {at:u}" : "")}{(string.IsNullOrEmpty(entry.RevokedReason) ? "" : $" ({entry.RevokedReason})")}";
            return false;
        }
        if (now < cert.NotBefore)
        {
            reason = $"certificate of '{entry.Id}' is not valid before {cert.NotBefore:u}";
            return false;
        }
        if (now >= cert.NotAfter)
        {
            reason = $"certificate of '{entry.Id}' expired at {cert.NotAfter:u} (renew it: alicia device renew {entry.Id})";
            return false;
        }
        switch (cert.State)
        {
            case CertificateState.Revoked:
                reason = $"certificate of '{entry.Id}' (serial {cert.Serial}) is revoked";
                return false;
            case CertificateState.Retired:
                reason = $"certificate of '{entry.Id}' (serial {cert.Serial}) was superseded by a renewal";
                return false;
            case CertificateState.Previous when cert.ValidUntil is { } until && now >= until:
                reason = $"certificate of '{entry.Id}' (serial {cert.Serial}) was superseded by a renewal; its overlap ended at {until:u}";
                return false;
        }
        identity = entry.ToRecord();
        reason = "";
        return true;
    }

    public bool TryAuthenticate(string username, ReadOnlySpan<byte> password, out IdentityRecord identity, out string reason)
    {
        identity = null!;
        Snapshot s = _snapshot;
        s.PasswordHashes.TryGetValue(username, out string? hash);
        bool ok = PasswordHasher.Verify(password, hash); // always does the work
        if (!s.ById.TryGetValue(username, out IdentityEntry? entry) || hash is null)
        {
            reason = entry is null ? $"unknown identity '{username}'" : $"identity '{username}' has no password (it authenticates with its certificate)";
            return false;
        }
        if (entry.Status == IdentityStatus.Revoked)
        {
            reason = $"identity '{username}' is revoked";
            return false;
        }
        if (!ok)
        {
            reason = $"wrong password for '{username}'";
            return false;
        }
        identity = entry.ToRecord();
        reason = "";
        return true;
    }

    // ---- writes ----

    /// <summary>
    /// Records a newly provisioned identity with its first certificate and Ed25519 public key (base64).
    /// Refuses an id that is active; a revoked id may be provisioned again (its old certificates stay refused).
    /// </summary>
    public IdentityEntry Add(string id, IdentityKind kind, IReadOnlyList<string> roles, X509Certificate2 certificate, string publicKeyBase64,
        string? passwordHash = null, IReadOnlyList<string>? extraSubscriptions = null)
    {
        IdentityNames.Validate(id);
        CheckCertificateSubject(id, certificate);
        long now = Now();
        using (SqliteConnection db = Open())
        using (SqliteTransaction tx = db.BeginTransaction())
        {
            string? status = (string?)Scalar(db, tx, "SELECT status FROM identities WHERE id = $id", ("$id", id));
            if (status == "active") throw new InvalidOperationException($"identity '{id}' is already provisioned (revoke it first, or renew it)");
            Execute(db, tx, "DELETE FROM identities WHERE id = $id", ("$id", id));
            Execute(db, tx, """
                INSERT INTO identities(id, kind, roles, subscriptions, status, public_key, password_hash, created_at, updated_at)
                VALUES ($id, $kind, $roles, $subs, 'active', $pk, $pw, $now, $now)
                """,
                ("$id", id), ("$kind", IdentityRecord.KindName(kind)), ("$roles", Join(roles)), ("$subs", Join(extraSubscriptions ?? [])),
                ("$pk", publicKeyBase64), ("$pw", passwordHash), ("$now", now));
            InsertCertificate(db, tx, id, certificate, now);
            LogChange(db, tx, id, "provisioned", now);
            tx.Commit();
        }
        Poll();
        return Find(id)!;
    }

    /// <summary>
    /// Renewal: <paramref name="certificate"/> and <paramref name="publicKeyBase64"/> become current; the
    /// previous certificate and key stay valid for <paramref name="overlap"/> (never past the old
    /// certificate's own expiry); anything older is retired.
    /// </summary>
    public IdentityEntry Renew(string id, X509Certificate2 certificate, string publicKeyBase64, TimeSpan overlap)
    {
        if (overlap < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(overlap), "the overlap must not be negative");
        CheckCertificateSubject(id, certificate);
        long now = Now();
        long until = now + (long)overlap.TotalMilliseconds;
        using (SqliteConnection db = Open())
        using (SqliteTransaction tx = db.BeginTransaction())
        {
            string? status = (string?)Scalar(db, tx, "SELECT status FROM identities WHERE id = $id", ("$id", id));
            if (status is null) throw new KeyNotFoundException($"no identity '{id}' (provision it first: alicia device provision {id} --type ...)");
            if (status != "active") throw new InvalidOperationException($"identity '{id}' is revoked; provision it again instead of renewing");
            Execute(db, tx, "UPDATE certificates SET state = 'retired' WHERE identity_id = $id AND state = 'previous'", ("$id", id));
            Execute(db, tx, "UPDATE certificates SET state = 'previous', valid_until = min($until, not_after) WHERE identity_id = $id AND state = 'current'",
                ("$id", id), ("$until", until));
            Execute(db, tx, """
                UPDATE identities SET previous_public_key = public_key, previous_key_until = $until, public_key = $pk, updated_at = $now
                WHERE id = $id
                """, ("$id", id), ("$until", until), ("$pk", publicKeyBase64), ("$now", now));
            InsertCertificate(db, tx, id, certificate, now);
            LogChange(db, tx, id, "renewed", now);
            tx.Commit();
        }
        Poll();
        return Find(id)!;
    }

    /// <summary>Revokes an identity: every certificate and password of it is refused from now on. False when unknown or already revoked.</summary>
    public bool Revoke(string id, string? reason = null)
    {
        long now = Now();
        using (SqliteConnection db = Open())
        using (SqliteTransaction tx = db.BeginTransaction())
        {
            int n = Execute(db, tx, """
                UPDATE identities SET status = 'revoked', revoked_at = $now, revoked_reason = $reason, updated_at = $now,
                       previous_public_key = NULL, previous_key_until = NULL
                WHERE id = $id AND status = 'active'
                """, ("$id", id), ("$now", now), ("$reason", reason));
            if (n == 0) return false;
            Execute(db, tx, "UPDATE certificates SET state = 'revoked' WHERE identity_id = $id AND state IN ('current', 'previous')", ("$id", id));
            LogChange(db, tx, id, "revoked", now);
            tx.Commit();
        }
        Poll();
        return true;
    }

    // ---- change notification ----

    /// <summary>Polls the change log every <paramref name="interval"/> (1 s by default) so changes made by other processes (the CLI) are seen.</summary>
    public void StartWatching(TimeSpan? interval = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        TimeSpan period = interval ?? TimeSpan.FromSeconds(1);
        _timer?.Dispose();
        _timer = _clock.CreateTimer(_ => SafePoll(), null, period, period);
    }

    private void SafePoll()
    {
        try { Poll(); }
        catch (Exception e) when (e is SqliteException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            _logger.LogWarning(e, "Identity store poll failed");
        }
    }

    /// <summary>
    /// Picks up changes (from this or another process) and passed deadlines (renewal overlaps, certificate
    /// expiries), then raises <see cref="Changed"/> once per affected identity. Returns how many were affected.
    /// </summary>
    public int Poll()
    {
        var changed = new SortedSet<string>(StringComparer.Ordinal);
        lock (_pollLock)
        {
            if (_disposed) return 0;
            using (SqliteCommand cmd = _watch.CreateCommand())
            {
                cmd.CommandText = "SELECT seq, identity_id FROM changes WHERE seq > $last ORDER BY seq";
                cmd.Parameters.AddWithValue("$last", _lastSeq);
                using SqliteDataReader r = cmd.ExecuteReader();
                while (r.Read())
                {
                    _lastSeq = r.GetInt64(0);
                    changed.Add(r.GetString(1));
                }
            }
            if (changed.Count > 0) Reload();

            DateTimeOffset now = _clock.GetUtcNow();
            foreach (IdentityEntry e in _snapshot.Ordered)
            {
                if (e.Status != IdentityStatus.Active) continue;
                foreach (CertificateEntry c in e.Certificates)
                {
                    if (Crossed(c.NotAfter, now) || (c.State == CertificateState.Previous && c.ValidUntil is { } until && Crossed(until, now)))
                        changed.Add(e.Id);
                }
            }
            _lastDeadlineCheck = now;
        }
        foreach (string id in changed)
        {
            _logger.LogInformation("Identity '{Id}' changed", id);
            try { Changed?.Invoke(id); }
            catch (Exception e) { _logger.LogError(e, "An identity change handler failed for '{Id}'", id); }
        }
        return changed.Count;
    }

    private bool Crossed(DateTimeOffset deadline, DateTimeOffset now) => deadline > _lastDeadlineCheck && deadline <= now;

    // ---- SQLite ----

    private SqliteConnection Open()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var db = new SqliteConnection(_connectionString);
        db.Open();
        return db;
    }

    private long Now() => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    private static void CheckCertificateSubject(string id, X509Certificate2 certificate)
    {
        if (!string.Equals(CertificateAuthority.CommonNameOf(certificate), id, StringComparison.Ordinal))
            throw new ArgumentException($"the certificate's subject CN is '{CertificateAuthority.CommonNameOf(certificate)}', not '{id}'", nameof(certificate));
    }

    private static void InsertCertificate(SqliteConnection db, SqliteTransaction tx, string id, X509Certificate2 certificate, long now) =>
        Execute(db, tx, """
            INSERT INTO certificates(thumbprint, serial, identity_id, not_before, not_after, state, valid_until, issued_at)
            VALUES ($tp, $serial, $id, $nb, $na, 'current', NULL, $now)
            """,
            ("$tp", CertificateAuthority.ThumbprintOf(certificate)), ("$serial", CertificateAuthority.SerialOf(certificate)), ("$id", id),
            ("$nb", new DateTimeOffset(certificate.NotBefore.ToUniversalTime()).ToUnixTimeMilliseconds()),
            ("$na", new DateTimeOffset(certificate.NotAfter.ToUniversalTime()).ToUnixTimeMilliseconds()), ("$now", now));

    private static void LogChange(SqliteConnection db, SqliteTransaction tx, string id, string what, long now) =>
        Execute(db, tx, "INSERT INTO changes(identity_id, what, at) VALUES ($id, $what, $now)", ("$id", id), ("$what", what), ("$now", now));

    private static void CreateSchema(SqliteConnection db)
    {
        using SqliteCommand cmd = db.CreateCommand();
        cmd.CommandText = """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS identities(
                id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                roles TEXT NOT NULL DEFAULT '',
                subscriptions TEXT NOT NULL DEFAULT '',
                status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
                public_key TEXT NOT NULL,
                previous_public_key TEXT,
                previous_key_until INTEGER,
                password_hash TEXT,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                revoked_at INTEGER,
                revoked_reason TEXT);
            CREATE TABLE IF NOT EXISTS certificates(
                thumbprint TEXT PRIMARY KEY,
                serial TEXT NOT NULL,
                identity_id TEXT NOT NULL,
                not_before INTEGER NOT NULL,
                not_after INTEGER NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('current', 'previous', 'retired', 'revoked')),
                valid_until INTEGER,
                issued_at INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS certificates_identity ON certificates(identity_id);
            CREATE TABLE IF NOT EXISTS changes(
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                identity_id TEXT NOT NULL,
                what TEXT NOT NULL,
                at INTEGER NOT NULL);
            """;
        cmd.ExecuteNonQuery();
    }

    /// <summary>Reads the whole store into a new snapshot, in one read transaction (identities are few).</summary>
    private void Reload()
    {
        using SqliteTransaction tx = _watch.BeginTransaction(deferred: true);
        var certificates = new Dictionary<string, List<CertificateEntry>>(StringComparer.Ordinal);
        var byThumbprint = new Dictionary<string, CertificateEntry>(StringComparer.Ordinal);
        using (SqliteCommand cmd = _watch.CreateCommand())
        {
            cmd.Transaction = tx;
            cmd.CommandText = "SELECT thumbprint, serial, identity_id, not_before, not_after, state, valid_until, issued_at FROM certificates ORDER BY issued_at";
            using SqliteDataReader r = cmd.ExecuteReader();
            while (r.Read())
            {
                var c = new CertificateEntry(r.GetString(0), r.GetString(1), r.GetString(2), FromMs(r.GetInt64(3)), FromMs(r.GetInt64(4)),
                    ParseState(r.GetString(5)), r.IsDBNull(6) ? null : FromMs(r.GetInt64(6)), FromMs(r.GetInt64(7)));
                byThumbprint[c.Thumbprint] = c;
                if (!certificates.TryGetValue(c.IdentityId, out List<CertificateEntry>? list)) certificates[c.IdentityId] = list = [];
                list.Add(c);
            }
        }
        var byId = new Dictionary<string, IdentityEntry>(StringComparer.Ordinal);
        var passwords = new Dictionary<string, string>(StringComparer.Ordinal);
        using (SqliteCommand cmd = _watch.CreateCommand())
        {
            cmd.Transaction = tx;
            cmd.CommandText = """
                SELECT id, kind, roles, subscriptions, status, public_key, previous_public_key, previous_key_until, password_hash,
                       created_at, revoked_at, revoked_reason
                FROM identities
                """;
            using SqliteDataReader r = cmd.ExecuteReader();
            while (r.Read())
            {
                string id = r.GetString(0);
                IdentityRecord.TryParseKind(r.GetString(1), out IdentityKind kind);
                string? hash = r.IsDBNull(8) ? null : r.GetString(8);
                if (hash is not null) passwords[id] = hash;
                byId[id] = new IdentityEntry(id, kind, Split(r.GetString(2)), Split(r.GetString(3)),
                    r.GetString(4) == "active" ? IdentityStatus.Active : IdentityStatus.Revoked,
                    r.GetString(5), r.IsDBNull(6) ? null : r.GetString(6), r.IsDBNull(7) ? null : FromMs(r.GetInt64(7)),
                    hash is not null, FromMs(r.GetInt64(9)), r.IsDBNull(10) ? null : FromMs(r.GetInt64(10)), r.IsDBNull(11) ? null : r.GetString(11),
                    certificates.TryGetValue(id, out List<CertificateEntry>? certs) ? certs : []);
            }
        }
        tx.Commit();
        Volatile.Write(ref _snapshot, new Snapshot(byId, byThumbprint, passwords));
    }

    private static CertificateState ParseState(string s) => s switch
    {
        "current" => CertificateState.Current,
        "previous" => CertificateState.Previous,
        "retired" => CertificateState.Retired,
        _ => CertificateState.Revoked,
    };

    private static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private static string Join(IEnumerable<string> items) => string.Join(' ', items.Where(i => !string.IsNullOrWhiteSpace(i)).Select(i => i.Trim()));

    private static string[] Split(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static object? Scalar(SqliteConnection db, SqliteTransaction tx, string sql, params (string Name, object? Value)[] parameters)
    {
        using SqliteCommand cmd = Command(db, tx, sql, parameters);
        object? v = cmd.ExecuteScalar();
        return v is DBNull ? null : v;
    }

    private static int Execute(SqliteConnection db, SqliteTransaction tx, string sql, params (string Name, object? Value)[] parameters)
    {
        using SqliteCommand cmd = Command(db, tx, sql, parameters);
        return cmd.ExecuteNonQuery();
    }

    private static SqliteCommand Command(SqliteConnection db, SqliteTransaction tx, string sql, (string Name, object? Value)[] parameters)
    {
        SqliteCommand cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach ((string name, object? value) in parameters) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    public void Dispose()
    {
        lock (_pollLock)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _timer?.Dispose();
        _watch.Dispose();
    }

    private sealed class Snapshot(Dictionary<string, IdentityEntry> byId, Dictionary<string, CertificateEntry> byThumbprint, Dictionary<string, string> passwordHashes)
    {
        public static readonly Snapshot Empty = new([], [], []);
        public Dictionary<string, IdentityEntry> ById { get; } = byId;
        public Dictionary<string, CertificateEntry> ByThumbprint { get; } = byThumbprint;
        public Dictionary<string, string> PasswordHashes { get; } = passwordHashes;
        public IReadOnlyList<IdentityEntry> Ordered { get; } = [.. byId.Values.OrderBy(e => e.Id, StringComparer.Ordinal)];
    }
}
