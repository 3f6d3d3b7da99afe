using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security;
using Alicia.Engine.Security.Audit;
using Alicia.Engine.Security.Gateway;
using Alicia.Host.Commands;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Alicia.Security.Tests;

/// <summary>
/// Issue 10 A5: the audit chain alone let an attacker delete the last rows, or edit a row and recompute the chain, and
/// still verified intact. Each attack is replayed on a real audit.db with SQLite, exactly as it was done against the old
/// log (the chain alone still says intact), and <c>alicia audit verify</c> now reports it against the signed checkpoints.
/// </summary>
public sealed class AuditAnchorTests : IAsyncDisposable
{
    private readonly TempDirectory _dir = new("alicia-audit");
    private readonly SigningIdentity _engineKey;

    public AuditAnchorTests() => _engineKey = new KeyDirectory(_dir.Keys).Create("alicia-engine");

    private string Database => Path.Combine(_dir.Data, "audit.db");
    private string Checkpoints => Path.Combine(_dir.Data, "audit.checkpoints");

    public ValueTask DisposeAsync()
    {
        _engineKey.Dispose();
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>A log of <paramref name="records"/> records, anchored by the engine's key, closed as the engine closes it.</summary>
    private async Task<List<AuditCheckpoint>> WriteAnchoredLog(int records, long everyRecords = 1000, int round = 1000)
    {
        var written = new List<AuditCheckpoint>();
        await using var log = new AuditLog(Database);
        log.AnchorWith(_engineKey, everyRecords, TimeSpan.Zero, c => { lock (written) written.Add(c); });
        await log.CheckpointAsync();
        for (int i = 0; i < records; i++)
        {
            log.Record(AuditKinds.AclDenied, $"sensor-{i}", "alicia/devices/x/command", "publish denied (0x87)", "no grant");
            if ((i + 1) % round == 0) await log.FlushAsync(); // the writer checks its checkpoint interval after each batch
        }
        await log.FlushAsync();
        await log.CheckpointAsync(detach: true);
        lock (written) return [.. written];
    }

    private async Task<(int Code, string Out)> AuditVerify()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await Cli.RunAsync(["audit", "verify", "--data", _dir.Data, "--keys", _dir.Keys], stdout, stderr, new Dictionary<string, string?>());
        return (code, stdout.ToString() + stderr);
    }

    private void Sql(string sql)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Database, Pooling = false }.ToString());
        c.Open();
        using SqliteCommand cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    [Fact]
    public async Task An_untouched_anchored_log_verifies_through_the_cli()
    {
        List<AuditCheckpoint> written = await WriteAnchoredLog(25, everyRecords: 10, round: 5);

        // The first checkpoint covers the empty log, then one every 10 records, then the last at close.
        Assert.Equal([0L, 10, 20, 25], written.Select(c => c.Records));
        Assert.Equal(4, File.ReadAllLines(Checkpoints).Length);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, UnixModes.Of(Checkpoints));
        (int code, string output) = await AuditVerify();
        Assert.True(code == 0, output);
        Assert.Contains("audit log intact: 25 records, hash chain verified, 4 signed checkpoints", output);
    }

    [Fact]
    public async Task Deleting_the_last_rows_is_reported_as_truncation()
    {
        await WriteAnchoredLog(20);

        // The original attack: remove the last rows. The chain of what is left is still intact...
        Sql("DELETE FROM audit WHERE seq > 17");
        Assert.Null(AuditLog.Verify(Database, out long left));
        Assert.Equal(17, left);

        // ...but the signed checkpoint counted 20.
        (int code, string output) = await AuditVerify();
        Assert.Equal(1, code);
        Assert.Contains("audit log BROKEN: the log was truncated: it holds 17 records, but the checkpoint of", output);
        Assert.Contains("counted 20: 3 records were removed from its end", output);
    }

    [Fact]
    public async Task Editing_a_row_and_recomputing_the_chain_is_reported_as_rewriting()
    {
        await WriteAnchoredLog(12);

        // The original attack: change record 5 and recompute every hash from it on, exactly as the log computes them.
        Sql("UPDATE audit SET detail = 'nothing happened' WHERE seq = 5");
        using (var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Database, Pooling = false }.ToString()))
        {
            c.Open();
            var rows = new List<(long Seq, string At, string Kind, string Identity, string Topic, string Decision, string Detail)>();
            using (SqliteCommand read = c.CreateCommand())
            {
                read.CommandText = "SELECT seq, at, kind, identity, topic, decision, detail FROM audit ORDER BY seq";
                using SqliteDataReader r = read.ExecuteReader();
                while (r.Read()) rows.Add((r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6)));
            }
            byte[] previous = new byte[32];
            foreach (var row in rows)
            {
                byte[] hash = AuditLog.Hash(previous, row.At, row.Kind, row.Identity, row.Topic, row.Decision, row.Detail);
                using SqliteCommand update = c.CreateCommand();
                update.CommandText = "UPDATE audit SET prev_hash = $p, hash = $h WHERE seq = $s";
                update.Parameters.AddWithValue("$p", previous);
                update.Parameters.AddWithValue("$h", hash);
                update.Parameters.AddWithValue("$s", row.Seq);
                update.ExecuteNonQuery();
                previous = hash;
            }
        }
        Assert.Null(AuditLog.Verify(Database, out _)); // the chain alone is fooled

        (int code, string output) = await AuditVerify();
        Assert.Equal(1, code);
        Assert.Contains("audit log BROKEN: the log was rewritten: the chain hash of record 12 differs from the head signed in the checkpoint of", output);
    }

    [Fact]
    public async Task A_tampered_checkpoint_is_reported_and_cannot_hide_a_truncation()
    {
        await WriteAnchoredLog(10);
        Sql("DELETE FROM audit WHERE seq > 6");
        // Cover the truncation: make the last checkpoint say 6 records (its signature no longer matches).
        string[] lines = File.ReadAllLines(Checkpoints);
        lines[^1] = lines[^1].Replace("records=10 ", "records=6 ", StringComparison.Ordinal);
        File.WriteAllLines(Checkpoints, lines);

        (int code, string output) = await AuditVerify();
        Assert.Equal(1, code);
        Assert.Contains($"audit log BROKEN: checkpoint line {lines.Length}: its signature does not verify (the checkpoint was altered)", output);
    }

    [Fact]
    public async Task An_unsigned_checkpoint_a_foreign_signer_and_a_missing_file_are_reported()
    {
        await WriteAnchoredLog(5);
        string genuine = File.ReadAllLines(Checkpoints)[^1];

        File.WriteAllLines(Checkpoints, [genuine[..genuine.IndexOf(" sig=", StringComparison.Ordinal)]]);
        (int code, string output) = await AuditVerify();
        Assert.Equal(1, code);
        Assert.Contains("audit log BROKEN: checkpoint line 1 is not valid: it is unsigned", output);

        // Signed, but by a key the attacker made: not the engine's.
        using SigningIdentity intruder = new KeyDirectory(_dir.Keys).Create("intruder");
        AuditCheckpoint forged = AuditCheckpoints.Sign(intruder, 5, new byte[32], DateTimeOffset.UtcNow);
        File.WriteAllLines(Checkpoints, [AuditCheckpoints.Format(forged)]);
        (code, output) = await AuditVerify();
        Assert.Equal(1, code);
        Assert.Contains("checkpoint line 1 is signed by 'intruder', not by the engine 'alicia-engine'", output);

        File.Delete(Checkpoints);
        (code, output) = await AuditVerify();
        Assert.Equal(1, code);
        Assert.Contains("audit log BROKEN: no checkpoint file", output);
    }

    [Fact]
    public async Task The_timer_checkpoints_a_moved_head_and_only_a_moved_head()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var written = System.Threading.Channels.Channel.CreateUnbounded<AuditCheckpoint>();
        await using (var log = new AuditLog(Database, clock))
        {
            log.AnchorWith(_engineKey, everyRecords: 1_000_000, TimeSpan.FromMinutes(1), c => written.Writer.TryWrite(c));
            Assert.Equal(0, (await written.Reader.ReadAsync().AsTask().WaitAsync(Waits.Long)).Records);

            for (int i = 0; i < 3; i++) log.Record(AuditKinds.ConnectRefused, "anonymous", "", "refused", "bad password");
            await log.FlushAsync();
            clock.Advance(TimeSpan.FromMinutes(1));
            AuditCheckpoint ticked = await written.Reader.ReadAsync().AsTask().WaitAsync(Waits.Long);
            Assert.Equal(3, ticked.Records);
            Assert.Equal(clock.GetUtcNow().ToUnixTimeMilliseconds(), ticked.AtUnixMs);

            // Nothing new: the next tick writes nothing; an explicit checkpoint (as at shutdown) of an unmoved head neither.
            clock.Advance(TimeSpan.FromMinutes(1));
            await log.CheckpointAsync(detach: true);
            Assert.False(written.Reader.TryRead(out _));
        }
        Assert.Equal(2, File.ReadAllLines(Checkpoints).Length);
    }

    [Fact]
    public async Task A_running_engine_anchors_its_log_publishes_the_checkpoint_retained_and_checkpoints_on_stop()
    {
        var directory = new PasswordDirectory();
        directory.Add(new IdentityRecord("auditor", IdentityKind.Service, "monitor"), "pw-auditor");
        var audit = new AuditLog(Database);
        long recordedBeforeStop;
        TestEngine test = await TestEngine.StartAsync(services: e => e.AddService(new SecurityGateway(new GatewayOptions(), directory, audit)), directory: _dir);
        try
        {
            // Retained: a subscriber that comes after the checkpoint still gets it, signed by the engine.
            var received = new TaskCompletionSource<BusMessage<AuditCheckpoint>>(TaskCreationOptions.RunContinuationsAsynchronously);
            await using IAsyncDisposable sub = await test.Engine.Bus.SubscribeAsync<AuditCheckpoint>((m, _) => { received.TrySetResult(m); return ValueTask.CompletedTask; });
            BusMessage<AuditCheckpoint> retained = await received.Within();
            Assert.Equal("alicia/system/audit/checkpoint", retained.Topic);
            Assert.Equal("alicia-engine", retained.Source);
            Assert.True(AuditCheckpoints.SignatureValid(retained.Data, test.Engine.Identity.PublicKey));

            // A refused connection is audited; the checkpoint at stop covers it.
            (MQTTnet.IMqttClient? client, _) = await TryConnect(test, "auditor", "wrong");
            client?.Dispose();
            await audit.FlushAsync();
            Assert.Null(AuditLog.Verify(Database, out recordedBeforeStop));
            Assert.True(recordedBeforeStop > 0);
        }
        finally
        {
            await test.DisposeAsync();
            await audit.DisposeAsync();
        }
        AuditCheckpoint last = AuditCheckpoints.Parse(File.ReadAllLines(Checkpoints)[^1], out _)!;
        Assert.True(last.Records >= recordedBeforeStop, $"the checkpoint at stop covers {last.Records} records of {recordedBeforeStop}");
        (int code, string output) = await AuditVerify();
        Assert.True(code == 0, output);
    }

    private static async Task<(MQTTnet.IMqttClient? Client, string? Error)> TryConnect(TestEngine test, string user, string password)
    {
        MQTTnet.IMqttClient client = new MQTTnet.MqttClientFactory().CreateMqttClient();
        try
        {
            var result = await client.ConnectAsync(RawMqtt.Options(test.Endpoint, "auditor-1").WithCredentials(user, password).Build());
            return (client, result.ResultCode.ToString());
        }
        catch (MQTTnet.Adapter.MqttConnectingFailedException e)
        {
            return (client, e.Message);
        }
    }
}
