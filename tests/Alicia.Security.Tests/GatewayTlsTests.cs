using Alicia.Tools;
using System.Security.Cryptography.X509Certificates;
using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security.Audit;
using Alicia.Engine.Security.Gateway;
using Alicia.Engine.Security.Identity;
using Alicia.Host.Commands;
using MQTTnet;

namespace Alicia.Security.Tests;

/// <summary>
/// The whole chain as a user runs it: a CA and provisioned devices, the engine with its TLS listener and
/// security gateway over the real identity store, Mosquitto's own command-line clients presenting the
/// provisioning bundle, and a CLI revocation dropping a live connection.
/// </summary>
public sealed class GatewayTlsTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new("alicia-sec");
    private TestEngine _test = null!;
    private AliciaEngine _engine = null!;
    private AuditLog _audit = null!;
    private int _tlsPort;
    private IdentityService _identity = null!;

    public async Task InitializeAsync()
    {
        Assert.Equal(0, CaCommand.Execute(["init", .. _dir.Options], TextWriter.Null, TextWriter.Null));
        Assert.Equal(0, DeviceIdentityCommand.Execute(["provision", "kitchen-sensor", "--type", "sensor", .. _dir.Options], TextWriter.Null, TextWriter.Null));
        Assert.Equal(0, DeviceIdentityCommand.Execute(["provision", "porch-light", "--type", "actuator", .. _dir.Options], TextWriter.Null, TextWriter.Null));
        _tlsPort = FreePort.Next();
        _audit = new AuditLog(Path.Combine(_dir.Data, "audit.db"));
        _test = await TestEngine.StartAsync(o => o.Broker.TlsPort = _tlsPort, e =>
        {
            _identity = new IdentityService(e.Options, TimeSpan.FromMilliseconds(50));
            e.AddService(_identity).AddService(new SecurityGateway(new GatewayOptions(), new IdentityDirectories(LocalTools.Directory(_dir.Data), _identity.Store), _audit));
        }, directory: _dir);
        _engine = _test.Engine;
    }

    public async Task DisposeAsync()
    {
        await _test.DisposeAsync();
        await _audit.DisposeAsync();
        _dir.Dispose();
    }

    private string Bundle(string id) => DeviceProvisioner.DefaultBundleDirectory(_dir.Data, id);

    private string Port(int port) => port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>mosquitto_pub/mosquitto_sub arguments for a device presenting its provisioning bundle on the TLS listener.</summary>
    private string[] Tls(string id) =>
        ["-V", "mqttv5", "-h", "127.0.0.1", "-p", Port(_tlsPort), "--cafile", Path.Combine(Bundle(id), "ca.pem"),
            "--cert", Path.Combine(Bundle(id), "cert.pem"), "--key", Path.Combine(Bundle(id), "key.pem"), "-i", id];

    private Task<ProcessResult> MosquittoPub(string id, string topic, string message) =>
        MosquittoClients.PublishAsync([.. Tls(id), "-q", "1", "-t", topic, "-D", "publish", "content-type", EnvelopeJson.ContentType, "-m", message]);

    private static string UnsignedJson(string source, double temperature)
    {
        var writer = new System.Buffers.ArrayBufferWriter<byte>();
        EnvelopeJson.Write(writer, new Envelope<DeviceData>(EnvelopeHeader.Create(source, EnvelopeHeader.Broadcast, MessageKind.Event), new DeviceData { Values = { ["temperature"] = temperature } }), []);
        return System.Text.Encoding.UTF8.GetString(writer.WrittenSpan);
    }

    [Fact]
    public async Task Mosquitto_pub_with_the_bundle_publishes_in_its_own_subtree_only_and_mosquitto_sub_reads_anonymously()
    {
        var delivered = new TaskCompletionSource<BusMessage<DeviceData>>(TaskCreationOptions.RunContinuationsAsynchronously);
        int otherTopic = 0;
        await _engine.Bus.SubscribeAsync<DeviceData>((m, _) =>
        {
            if (m.Topic == DeviceData.BuildTopic("porch-light")) Interlocked.Increment(ref otherTopic);
            else if (m.Data.Values.GetValueOrDefault("temperature") == 21.5) delivered.TrySetResult(m);
            return ValueTask.CompletedTask;
        }, new SubscribeOptions { Filter = "alicia/devices/+/data", ReceiveAll = true });

        // An anonymous reader on the plain loopback listener, as a newcomer would watch the bus; subscribed once this returns.
        await using (MosquittoSubscriber reader = await MosquittoClients.SubscribeAsync("-V", "mqttv5", "-h", "127.0.0.1", "-p", Port(_test.Port),
            "-t", "alicia/devices/+/data", "-F", "%t", "-C", "1"))
        {
            Assert.Equal("0", reader.Granted);
            ProcessResult denied = await MosquittoPub("kitchen-sensor", DeviceData.BuildTopic("porch-light"), UnsignedJson("kitchen-sensor", 99));
            Assert.True(denied.ExitCode != 0 || denied.Output.Contains("Not authorized", StringComparison.OrdinalIgnoreCase), denied.Output);
            ProcessResult ok = await MosquittoPub("kitchen-sensor", DeviceData.BuildTopic("kitchen-sensor"), UnsignedJson("kitchen-sensor", 21.5));
            Assert.True(ok.ExitCode == 0, ok.Output);
            // The refused message went first: the reader's one message is the accepted one.
            Assert.Equal(DeviceData.BuildTopic("kitchen-sensor"), await reader.WaitForLineAsync(line => line.StartsWith("alicia/", StringComparison.Ordinal)));
        }

        BusMessage<DeviceData> message = await delivered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("kitchen-sensor", message.Source);
        Assert.Equal(Attestation.GatewayAttested, message.Envelope.Attestation);
        Assert.Equal(0, Volatile.Read(ref otherTopic));
        await _audit.FlushAsync();
        Assert.Contains(AuditLog.Tail(_audit.Path, 50), r => r.Kind == AuditKinds.AclDenied && r.Identity == "kitchen-sensor" && r.Topic == DeviceData.BuildTopic("porch-light"));
    }

    [Fact]
    public async Task A_cli_revocation_drops_the_live_tls_connection_and_refuses_the_next()
    {
        using X509Certificate2 cert = X509Certificate2.CreateFromPemFile(Path.Combine(Bundle("porch-light"), "cert.pem"), Path.Combine(Bundle("porch-light"), "key.pem"));
        using X509Certificate2 root = CertificateAuthority.LoadRoot(Path.Combine(Bundle("porch-light"), "ca.pem"));
        (IMqttClient? client, string? error) = await TlsClients.TryConnect(TlsClients.Options(_tlsPort, "porch-light", cert, root));
        Assert.True(client is not null, error);
        var dropped = new TaskCompletionSource<MqttClientDisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client!.DisconnectedAsync += e => { dropped.TrySetResult(e); return Task.CompletedTask; };

        Assert.Equal(0, DeviceIdentityCommand.Execute(["revoke", "porch-light", .. _dir.Options], TextWriter.Null, TextWriter.Null));

        MqttClientDisconnectedEventArgs e = await dropped.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(MqttClientDisconnectReason.AdministrativeAction, e.Reason);
        client.Dispose();
        (IMqttClient? again, string? refused) = await TlsClients.TryConnect(TlsClients.Options(_tlsPort, "porch-light", cert, root));
        Assert.Null(again);
        Assert.Contains("NotAuthorized", refused);

        // The CLI and the engine write one audit chain: provisioning, revocation, the dropped connection.
        await _audit.FlushAsync();
        IReadOnlyList<AuditRecord> records = AuditLog.Tail(_audit.Path, 100);
        Assert.Contains(records, r => r.Kind == AuditKinds.Provisioned && r.Identity == "porch-light");
        Assert.Contains(records, r => r.Kind == AuditKinds.Revoked && r.Identity == "porch-light");
        Assert.Contains(records, r => r.Kind == AuditKinds.Disconnected && r.Identity == "porch-light");
        Assert.Contains(records, r => r.Kind == AuditKinds.ConnectRefused && r.Identity == "porch-light");
        Assert.Null(AuditLog.Verify(_audit.Path, out _));
    }

    [Fact]
    public async Task An_alicia_bus_client_connects_over_mqtts_with_its_bundle_and_receives_verified_messages()
    {
        var known = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _identity.Store.Changed += id => { if (id == "hub-monitor") known.TrySetResult(); };
        Assert.Equal(0, DeviceIdentityCommand.Execute(["provision", "hub-monitor", "--type", "service", "--role", "monitor", .. _dir.Options], TextWriter.Null, TextWriter.Null));
        await known.Task.WaitAsync(TimeSpan.FromSeconds(10)); // the running engine learns of it (the CLI wrote the store)
        string bundle = Bundle("hub-monitor");
        using Alicia.Engine.Security.SigningIdentity identity = new Alicia.Engine.Security.KeyDirectory(bundle).Load("hub-monitor");
        var verifier = new Alicia.Engine.Security.EnvelopeVerifier(new Alicia.Engine.Security.TrustStore(new Alicia.Engine.Security.KeyDirectory(_dir.Keys)));
        var options = new BusOptions
        {
            ClientId = "hub-monitor:1",
            ClientCertificatePath = Path.Combine(bundle, "cert.pem"),
            ClientKeyPath = Path.Combine(bundle, "key.pem"),
            CaCertificatePath = Path.Combine(bundle, "ca.pem"),
        };
        await using AliciaBus monitor = await AliciaBus.ConnectAsync(BrokerEndpoint.Parse($"mqtts://127.0.0.1:{_tlsPort}"), identity, verifier, options);
        var received = new TaskCompletionSource<BusMessage<DeviceData>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await monitor.SubscribeAsync<DeviceData>((m, _) => { received.TrySetResult(m); return ValueTask.CompletedTask; }, new SubscribeOptions { ReceiveAll = true });

        await _engine.Bus.PublishAsync(new DeviceData { Values = { ["lux"] = 120 } }, new PublishOptions { Topic = DeviceData.BuildTopic("porch-light") });

        BusMessage<DeviceData> message = await received.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(120, message.Data.Values["lux"]);
        Assert.Equal(_engine.Name, message.Source);
        Assert.Equal(Attestation.SourceSigned, message.Envelope.Attestation);
    }

    [Fact]
    public async Task Mosquitto_sub_with_a_bundle_receives_the_commands_for_its_device_over_tls()
    {
        string topic = Alicia.Contracts.Messages.DeviceCommand.BuildTopic("porch-light");
        await using MosquittoSubscriber sub = await MosquittoClients.SubscribeAsync([.. Tls("porch-light"), "-q", "1", "-t", topic, "-F", "%t", "-C", "1"]);
        Assert.Equal("1", sub.Granted);

        await _engine.Bus.PublishAsync(new Alicia.Contracts.Messages.DeviceCommand { Command = "turn_on", Capability = "light" },
            new PublishOptions { Topic = topic, Destination = "porch-light" });

        Assert.Equal(topic, await sub.WaitForLineAsync(line => line.StartsWith("alicia/", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_device_certificate_cannot_claim_another_client_id()
    {
        using X509Certificate2 cert = X509Certificate2.CreateFromPemFile(Path.Combine(Bundle("kitchen-sensor"), "cert.pem"), Path.Combine(Bundle("kitchen-sensor"), "key.pem"));
        using X509Certificate2 root = CertificateAuthority.LoadRoot(Path.Combine(Bundle("kitchen-sensor"), "ca.pem"));
        (IMqttClient? client, string? error) = await TlsClients.TryConnect(TlsClients.Options(_tlsPort, "porch-light", cert, root));
        Assert.Null(client);
        Assert.Contains("ClientIdentifierNotValid", error);
    }

    [Fact]
    public async Task The_readme_tls_example_runs_as_written_and_its_reading_arrives_countersigned()
    {
        var delivered = new TaskCompletionSource<BusMessage<DeviceData>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IAsyncDisposable sub = await _engine.Bus.SubscribeAsync<DeviceData>((m, _) =>
        {
            if (m.Source == "kitchen-sensor") delivered.TrySetResult(m);
            return ValueTask.CompletedTask;
        }, new SubscribeOptions { ReceiveAll = true });

        string readme = File.ReadAllText(Path.Combine(Repository.Root, "README.md"));
        const string bundleLine = "B=.alicia/data/devices/kitchen-sensor";
        int start = readme.IndexOf(bundleLine, StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md lost its TLS example");
        string script = readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)]
            .Replace(bundleLine, "B=" + Bundle("kitchen-sensor"), StringComparison.Ordinal)
            .Replace("-p 8883 ", "-p " + Port(_tlsPort) + " ", StringComparison.Ordinal);
        ProcessResult run = await ChildProcess.RunAsync("bash", ["-e", "-c", script], TimeSpan.FromSeconds(30));
        Assert.True(run.ExitCode == 0, run.Output);
        BusMessage<DeviceData> m = await delivered.Task.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(21.5, m.Data.Values["temperature"]);
        Assert.Equal(Attestation.GatewayAttested, m.Envelope.Attestation);
    }
}
