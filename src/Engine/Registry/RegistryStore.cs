using System.Text;
using System.Text.Json.Nodes;
using System.Buffers;
using System.Text.Json;
using Alicia.Contracts.Messages;
using Microsoft.Data.Sqlite;

namespace Alicia.Engine.Registry;

/// <summary>
/// The registry on disk: SQLite in WAL mode with <c>synchronous=FULL</c>, so a registration whose
/// transaction committed survives a crash of the process (and, as far as the disk honours fsync, of
/// the machine). Registrations are stored as their JSON wire form; the capability index is a table.
/// One connection, guarded by the store's own lock (not the registry's): the registry's writer thread
/// applies changes while readers (tools, tests) may query.
/// </summary>
internal sealed class RegistryStore : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Lock _gate = new();

    public RegistryStore(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        _connection = Storage.OwnerOnlySqlite.Open(Path);
        Execute("PRAGMA synchronous=FULL;");
        Execute("PRAGMA foreign_keys=ON;");
        Execute("PRAGMA busy_timeout=5000;");
        Execute("""
            CREATE TABLE IF NOT EXISTS devices(
                device_id TEXT PRIMARY KEY NOT NULL,
                owner TEXT NOT NULL,
                device_type TEXT NOT NULL,
                location TEXT NOT NULL,
                registration TEXT NOT NULL,
                registered_at INTEGER NOT NULL,
                state TEXT NOT NULL,
                birth_sequence INTEGER NOT NULL,
                last_seen INTEGER NOT NULL,
                heartbeat_ms INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS capabilities(
                capability TEXT NOT NULL,
                device_id TEXT NOT NULL REFERENCES devices(device_id) ON DELETE CASCADE,
                PRIMARY KEY(capability, device_id));
            CREATE INDEX IF NOT EXISTS devices_by_location ON devices(location);
            CREATE INDEX IF NOT EXISTS capabilities_by_device ON capabilities(device_id);
            """);
    }

    public string Path { get; }

    public string JournalMode => (string)Scalar("PRAGMA journal_mode;")!;
    public long Synchronous => (long)Scalar("PRAGMA synchronous;")!;

    /// <summary>
    /// Applies <paramref name="writes"/> in order in one transaction (one fsync for all of them): the registry's
    /// writer hands over whatever queued up while the previous transaction committed.
    /// </summary>
    public void Apply(IEnumerable<StoreWrite> writes)
    {
        lock (_gate)
        {
            using SqliteTransaction tx = _connection.BeginTransaction();
            foreach (StoreWrite write in writes)
            {
                switch (write)
                {
                    case UpsertDevice upsert: UpsertIn(tx, upsert); break;
                    case DeleteDevice delete: DeleteIn(tx, delete.DeviceId); break;
                    case UpdateLiveness liveness: UpdateLivenessIn(tx, liveness.Rows); break;
                    default: throw new ArgumentException($"unknown registry write {write.GetType().Name}", nameof(writes));
                }
            }
            tx.Commit();
        }
    }

    /// <summary>Inserts or replaces a device and its capability index in one transaction.</summary>
    public void Upsert(DeviceRecord record) => Apply([UpsertDevice.Of(record)]);

    public void Delete(string deviceId) => Apply([new DeleteDevice(deviceId)]);

    /// <summary>Writes liveness of several devices in one transaction (state changes, and batched last-seen times).</summary>
    public void UpdateLiveness(IEnumerable<DeviceRecord> records) => Apply([new UpdateLiveness([.. records.Select(LivenessRow.Of)])]);

    private void UpsertIn(SqliteTransaction tx, UpsertDevice record)
    {
        using (SqliteCommand cmd = Command("""
            INSERT INTO devices(device_id, owner, device_type, location, registration, registered_at, state, birth_sequence, last_seen, heartbeat_ms)
            VALUES($id, $owner, $type, $location, $registration, $registered, $state, $bdseq, $seen, $hb)
            ON CONFLICT(device_id) DO UPDATE SET owner=$owner, device_type=$type, location=$location, registration=$registration,
                registered_at=$registered, state=$state, birth_sequence=$bdseq, last_seen=$seen, heartbeat_ms=$hb;
            """, tx))
        {
            LivenessRow l = record.Liveness;
            cmd.Parameters.AddWithValue("$id", l.DeviceId);
            cmd.Parameters.AddWithValue("$owner", record.Owner);
            cmd.Parameters.AddWithValue("$type", record.Registration.DeviceType);
            cmd.Parameters.AddWithValue("$location", record.Registration.Metadata.Location);
            cmd.Parameters.AddWithValue("$registration", ToJson(record.Registration));
            cmd.Parameters.AddWithValue("$registered", record.RegisteredAt.UtcTicks);
            cmd.Parameters.AddWithValue("$state", StateName(l.State));
            cmd.Parameters.AddWithValue("$bdseq", l.BirthSequence);
            cmd.Parameters.AddWithValue("$seen", l.LastSeen.UtcTicks);
            cmd.Parameters.AddWithValue("$hb", (long)l.HeartbeatInterval.TotalMilliseconds);
            cmd.ExecuteNonQuery();
        }
        using (SqliteCommand del = Command("DELETE FROM capabilities WHERE device_id=$id;", tx))
        {
            del.Parameters.AddWithValue("$id", record.Liveness.DeviceId);
            del.ExecuteNonQuery();
        }
        using (SqliteCommand ins = Command("INSERT INTO capabilities(capability, device_id) VALUES($cap, $id);", tx))
        {
            SqliteParameter cap = ins.Parameters.Add("$cap", SqliteType.Text);
            ins.Parameters.AddWithValue("$id", record.Liveness.DeviceId);
            foreach (string name in record.Capabilities)
            {
                cap.Value = name;
                ins.ExecuteNonQuery();
            }
        }
    }

    private void DeleteIn(SqliteTransaction tx, string deviceId)
    {
        using SqliteCommand cmd = Command("DELETE FROM devices WHERE device_id=$id;", tx);
        cmd.Parameters.AddWithValue("$id", deviceId);
        cmd.ExecuteNonQuery();
    }

    private void UpdateLivenessIn(SqliteTransaction tx, LivenessRow[] rows)
    {
        using SqliteCommand cmd = Command("UPDATE devices SET state=$state, birth_sequence=$bdseq, last_seen=$seen, heartbeat_ms=$hb WHERE device_id=$id;", tx);
        SqliteParameter state = cmd.Parameters.Add("$state", SqliteType.Text);
        SqliteParameter bdseq = cmd.Parameters.Add("$bdseq", SqliteType.Integer);
        SqliteParameter seen = cmd.Parameters.Add("$seen", SqliteType.Integer);
        SqliteParameter hb = cmd.Parameters.Add("$hb", SqliteType.Integer);
        SqliteParameter id = cmd.Parameters.Add("$id", SqliteType.Text);
        foreach (LivenessRow r in rows)
        {
            state.Value = StateName(r.State);
            bdseq.Value = r.BirthSequence;
            seen.Value = r.LastSeen.UtcTicks;
            hb.Value = (long)r.HeartbeatInterval.TotalMilliseconds;
            id.Value = r.DeviceId;
            cmd.ExecuteNonQuery();
        }
    }

    public List<DeviceRecord> LoadAll()
    {
        lock (_gate) return LoadAllLocked();
    }

    private List<DeviceRecord> LoadAllLocked()
    {
        var result = new List<DeviceRecord>();
        using SqliteCommand cmd = Command("SELECT registration, owner, registered_at, state, birth_sequence, last_seen, heartbeat_ms FROM devices ORDER BY device_id;");
        using SqliteDataReader reader = cmd.ExecuteReader();
        while (reader.Read())
        {
            DeviceRegistration registration = FromJson(reader.GetString(0));
            var record = new DeviceRecord(registration, reader.GetString(1), new DateTimeOffset(reader.GetInt64(2), TimeSpan.Zero))
            {
                State = ParseState(reader.GetString(3)),
                BirthSequence = reader.GetInt64(4),
                LastSeen = new DateTimeOffset(reader.GetInt64(5), TimeSpan.Zero),
                HeartbeatInterval = TimeSpan.FromMilliseconds(reader.GetInt64(6)),
            };
            result.Add(record);
        }
        return result;
    }

    /// <summary>The capability index as stored (capability → device ids), for checks and tools.</summary>
    public List<string> DevicesWithCapability(string capability)
    {
        lock (_gate) return DevicesWithCapabilityLocked(capability);
    }

    private List<string> DevicesWithCapabilityLocked(string capability)
    {
        using SqliteCommand cmd = Command("SELECT device_id FROM capabilities WHERE capability=$cap ORDER BY device_id;");
        cmd.Parameters.AddWithValue("$cap", capability);
        using SqliteDataReader reader = cmd.ExecuteReader();
        var ids = new List<string>();
        while (reader.Read()) ids.Add(reader.GetString(0));
        return ids;
    }

    public static string ToJson(DeviceRegistration registration)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer)) DeviceRegistration.WriteJson(writer, registration);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static DeviceRegistration FromJson(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 16 });
        if (!reader.Read()) throw new JsonException("empty JSON");
        return DeviceRegistration.ReadJson(ref reader);
    }

    /// <summary>
    /// A plain-JSON registration as devices write it: <c>capabilities</c> is the object form
    /// (<c>{"capabilities":[...],"constraints":{...}}</c>), or, as the design document writes it, a list of
    /// capability names (<c>["audio_playback","volume_control"]</c>) or of capability objects
    /// (<c>[{"name":"temperature","version":"1.0"}]</c>), which are read as the object form.
    /// </summary>
    public static DeviceRegistration FromPlainJson(ReadOnlySpan<byte> utf8)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(utf8, documentOptions: new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (ArgumentException e)
        {
            throw new JsonException(e.Message, e);
        }
        if (root is not JsonObject registration || registration["capabilities"] is not JsonArray list) return FromJson(utf8);
        var capabilities = new JsonArray();
        foreach (JsonNode? item in list)
        {
            capabilities.Add(item switch
            {
                JsonValue value when value.GetValueKind() == JsonValueKind.String => new JsonObject { ["name"] = value.GetValue<string>() },
                JsonObject capability => capability.DeepClone(),
                _ => throw new JsonException("field 'capabilities': a list of capabilities holds names (strings) or capability objects"),
            });
        }
        registration["capabilities"] = new JsonObject { ["capabilities"] = capabilities };
        return FromJson(Encoding.UTF8.GetBytes(registration.ToJsonString()));
    }

    public static DeviceRegistration FromJson(string json) => FromJson(System.Text.Encoding.UTF8.GetBytes(json));

    private static string StateName(DeviceState state) => state switch
    {
        DeviceState.Online => "online",
        DeviceState.Degraded => "degraded",
        _ => "offline",
    };

    private static DeviceState ParseState(string name) => name switch
    {
        "online" => DeviceState.Online,
        "degraded" => DeviceState.Degraded,
        _ => DeviceState.Offline,
    };

    private SqliteCommand Command(string sql, SqliteTransaction? tx = null)
    {
        SqliteCommand cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        return cmd;
    }

    private void Execute(string sql)
    {
        using SqliteCommand cmd = Command(sql);
        cmd.ExecuteNonQuery();
    }

    private object? Scalar(string sql)
    {
        lock (_gate)
        {
            using SqliteCommand cmd = Command(sql);
            return cmd.ExecuteScalar();
        }
    }

    public void Dispose()
    {
        lock (_gate) _connection.Dispose();
    }
}
