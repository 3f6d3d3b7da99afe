using System.Globalization;
using System.Text;
using Alicia.Contracts.Messages;
using Alicia.Engine.Hosting;
using Alicia.Engine.Registry;
using Alicia.Engine.Security;
using Alicia.Engine.Security.Audit;
using Alicia.Engine.Security.Gateway;
using Alicia.Engine.Security.Identity;
using Alicia.HomeAssistant;
using Alicia.Host.Commands;
using Alicia.Tools;
using Alicia.Tools.Simulation;

namespace Alicia.Security.Tests;

/// <summary>
/// Issue 10 B1: Home Assistant's MQTT integration with the defaults (the security gateway on). The identity is made
/// as the README says (<c>alicia device provision homeassistant --type service --role homeassistant --password-from-env</c>),
/// and Mosquitto's own clients stand in for HA: MQTT 3.1.1 (HA's default), client id <c>homeassistant</c>, the
/// topics HA's MQTT integration subscribes to and publishes on.
/// </summary>
public sealed class HomeAssistantIdentityTests : IAsyncLifetime
{
    private const string Password = "ha-secret-1";
    private const string SpeakerPassword = "speaker-secret-1";
    private readonly TempDirectory _dir = new("alicia-ha");
    private TestEngine _test = null!;
    private AuditLog _audit = null!;

    public async Task InitializeAsync()
    {
        Assert.Equal(0, CaCommand.Execute(["init", .. _dir.Options], TextWriter.Null, TextWriter.Null));
        var output = new StringWriter();
        Assert.Equal(0, DeviceIdentityCommand.Execute(["provision", "homeassistant", "--type", "service", "--role", "homeassistant", "--password-from-env", "HA_PASSWORD", .. _dir.Options],
            output, output, name => name == "HA_PASSWORD" ? Password : null));
        Assert.Equal(0, DeviceIdentityCommand.Execute(["provision", "living-room-speaker", "--type", "speaker", "--password-from-env", "SPEAKER_PASSWORD", .. _dir.Options],
            output, output, name => name == "SPEAKER_PASSWORD" ? SpeakerPassword : null));
        _audit = new AuditLog(Path.Combine(_dir.Data, "audit.db"));
        _test = await TestEngine.StartAsync(null, e =>
        {
            var identity = new IdentityService(e.Options, TimeSpan.FromMilliseconds(50));
            var registry = new RegistryService();
            e.AddService(identity).AddService(new SecurityGateway(new GatewayOptions(), new IdentityDirectories(LocalTools.Directory(_dir.Data), identity.Store), _audit))
                .AddService(registry).AddService(new HomeAssistantBridge(registry));
        }, directory: _dir);
    }

    public async Task DisposeAsync()
    {
        await _test.DisposeAsync();
        await _audit.DisposeAsync();
        _dir.Dispose();
    }

    /// <summary>Connection arguments as typed into HA's MQTT integration: host, port, username, password, client id.</summary>
    private string[] AsHomeAssistant(string clientId, string version = "mqttv311") =>
        ["-V", version, "-h", "127.0.0.1", "-p", _test.Port.ToString(CultureInfo.InvariantCulture), "-u", "homeassistant", "-P", Password, "-i", clientId];

    /// <summary>The SUBACK's codes as mosquitto_sub printed them ("0, 0" or "0 0"), one space apart.</summary>
    private static string Codes(string granted) => string.Join(' ', granted.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries));

    private SimulatedDevice Switch(string id) =>
        new(id, SimulatedKind.Switch, "hall", new EnvelopeSigner(_test.Identity(LocalTools.Simulator)), _test.Verifier(), _test.Endpoint, TimeSpan.FromSeconds(30))
        {
            Credentials = (LocalTools.Simulator, Encoding.UTF8.GetBytes(LocalTools.EnsurePassword(_dir.Data, LocalTools.Simulator))),
        };

    [Fact]
    public async Task Home_assistant_reads_discovery_availability_and_state_switches_a_device_and_gets_discovery_again_on_its_birth()
    {
        // HA's subscriptions: discovery (the two patterns HA's MQTT integration uses), availability, state, its own status.
        await using MosquittoSubscriber ha = await MosquittoClients.SubscribeAsync([.. AsHomeAssistant("homeassistant"), "-v",
            "--will-topic", "homeassistant/status", "--will-payload", "offline",
            "-t", "homeassistant/+/+/config", "-t", "homeassistant/+/+/+/config", "-t", "alicia-ha/+/availability", "-t", "alicia-ha/+/+/state", "-t", "homeassistant/status"]);
        Assert.Equal("0 0 0 0 0", Codes(ha.Granted));

        await using SimulatedDevice device = Switch("hall-switch");
        var obeyed = new TaskCompletionSource<DeviceCommand>(TaskCreationOptions.RunContinuationsAsynchronously);
        device.CommandReceived += (_, c) => obeyed.TrySetResult(c);
        await device.StartAsync();

        const string config = "homeassistant/switch/hall_switch/switch/config ";
        string discovered = await ha.WaitForLineAsync(l => l.StartsWith(config, StringComparison.Ordinal));
        Assert.Contains("\"command_topic\":\"alicia-ha/hall_switch/switch/set\"", discovered);
        Assert.Contains("\"default_entity_id\":\"switch.alicia_hall_switch_switch\"", discovered);
        await ha.WaitForLineAsync(l => l == "alicia-ha/hall_switch/availability online");
        string hub = HaSlug.Of(_test.Engine.Name);
        await ha.WaitForLineAsync(l => l.StartsWith($"homeassistant/binary_sensor/{hub}/engine/config ", StringComparison.Ordinal));

        // The switch in HA's UI: HA publishes ON on the command topic; the device obeys and its state comes back.
        ProcessResult on = await MosquittoClients.PublishAsync([.. AsHomeAssistant("homeassistant:cmd"), "-t", "alicia-ha/hall_switch/switch/set", "-m", "ON"]);
        Assert.True(on.ExitCode == 0, on.Output);
        Assert.Equal("turn_on", (await obeyed.Within()).Command);
        await ha.WaitForLineAsync(l => l == "alicia-ha/hall_switch/switch/state ON");

        // HA restarts: its birth message makes the bridge send discovery again.
        int before = ha.Log.Split('\n').Count(l => l.StartsWith(config, StringComparison.Ordinal));
        int seen = 0;
        ProcessResult birth = await MosquittoClients.PublishAsync([.. AsHomeAssistant("homeassistant:birth"), "-t", "homeassistant/status", "-m", "online"]);
        Assert.True(birth.ExitCode == 0, birth.Output);
        await ha.WaitForLineAsync(l => l.StartsWith(config, StringComparison.Ordinal) && ++seen > before);
    }

    [Fact]
    public async Task The_designs_plain_json_speaker_shows_up_with_a_volume_number_that_ha_sets_and_the_speaker_reports()
    {
        string[] speaker = ["-V", "mqttv5", "-h", "127.0.0.1", "-p", _test.Port.ToString(CultureInfo.InvariantCulture), "-u", "living-room-speaker", "-P", SpeakerPassword];
        await using MosquittoSubscriber ha = await MosquittoClients.SubscribeAsync([.. AsHomeAssistant("homeassistant"), "-v",
            "-t", "homeassistant/+/+/config", "-t", "homeassistant/+/+/+/config", "-t", "alicia-ha/+/availability", "-t", "alicia-ha/+/+/state"]);
        await using MosquittoSubscriber commands = await MosquittoClients.SubscribeAsync([.. speaker, "-i", "living-room-speaker:sub", "-q", "1",
            "-t", DeviceCommand.BuildTopic("living-room-speaker")]);

        // The design's registration, as written (capabilities as a list of names).
        ProcessResult registered = await MosquittoClients.PublishAsync([.. speaker, "-i", "living-room-speaker", "-q", "1", "-D", "publish", "content-type", "application/json",
            "-t", "alicia/system/discovery/register", "-m",
            """{"device_id":"living-room-speaker","device_type":"speaker","capabilities":["audio_playback","volume_control","group_management"],"metadata":{"manufacturer":"Sonos","model":"One","location":"living_room","version":"1.0"}}"""]);
        Assert.True(registered.ExitCode == 0 && !registered.Output.Contains("failed", StringComparison.Ordinal), registered.Output);

        string number = await ha.WaitForLineAsync(l => l.StartsWith("homeassistant/number/living_room_speaker/volume/config ", StringComparison.Ordinal));
        Assert.Contains("\"default_entity_id\":\"number.alicia_living_room_speaker_volume\"", number);
        await ha.WaitForLineAsync(l => l.StartsWith("homeassistant/button/living_room_speaker/play/config ", StringComparison.Ordinal));
        await ha.WaitForLineAsync(l => l.StartsWith("homeassistant/text/living_room_speaker/group/config ", StringComparison.Ordinal));
        await ha.WaitForLineAsync(l => l == "alicia-ha/living_room_speaker/availability online");

        // HA's volume slider: the number's command reaches the speaker as a JSON device command.
        ProcessResult set = await MosquittoClients.PublishAsync([.. AsHomeAssistant("homeassistant:cmd"), "-t", "alicia-ha/living_room_speaker/volume/set", "-m", "35"]);
        Assert.True(set.ExitCode == 0, set.Output);
        string command = await commands.WaitForLineAsync(l => l.Contains("set_volume", StringComparison.Ordinal));
        using (var json = System.Text.Json.JsonDocument.Parse(command))
        {
            System.Text.Json.JsonElement data = json.RootElement.GetProperty("payload").GetProperty("data");
            Assert.Equal("volume_control", data.GetProperty("capability").GetString());
            Assert.Equal("35", data.GetProperty("parameters").GetProperty("volume").GetString());
        }

        // The speaker reports its volume (an unsigned JSON envelope the gateway countersigns): HA's number shows it.
        string report = "{\"message_id\":\"" + Guid.NewGuid() + "\",\"timestamp\":\"" + DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)
            + "\",\"source\":\"living-room-speaker\",\"destination\":\"*\",\"message_type\":\"event\",\"payload\":{\"data\":{\"values\":{\"volume\":35}}},\"security\":{\"signature\":null}}";
        ProcessResult reported = await MosquittoClients.PublishAsync([.. speaker, "-i", "living-room-speaker", "-q", "1", "-D", "publish", "content-type", "application/json",
            "-t", "alicia/devices/living-room-speaker/data", "-m", report]);
        Assert.True(reported.ExitCode == 0 && !reported.Output.Contains("failed", StringComparison.Ordinal), reported.Output);
        await ha.WaitForLineAsync(l => l == "alicia-ha/living_room_speaker/volume/state 35");
    }

    [Fact]
    public async Task The_home_assistant_identity_is_refused_everywhere_else()
    {
        await using SimulatedDevice device = Switch("den-switch");
        var commands = 0;
        device.CommandReceived += (_, _) => Interlocked.Increment(ref commands);
        await device.StartAsync();

        // Publishing into the Alicia tree (a device's command topic, a registration) is refused with 0x87.
        foreach (string topic in new[] { DeviceCommand.BuildTopic("den-switch"), "alicia/system/discovery/register", "homeassistant/switch/den_switch/switch/config" })
        {
            ProcessResult refused = await MosquittoClients.PublishAsync([.. AsHomeAssistant("homeassistant:pub", "mqttv5"), "-q", "1", "-t", topic, "-m", "{}"]);
            // mosquitto_pub exits 0 and reports the PUBACK's reason (0x87) and the gateway's reason string.
            Assert.Contains("Publish 1 failed: Not authorized.", refused.Output);
        }
        // Reading the Alicia tree, or another client's traffic: 0x87 in the SUBACK.
        await using (MosquittoSubscriber sub = await MosquittoClients.SubscribeAsync([.. AsHomeAssistant("homeassistant:sub", "mqttv5"), "-t", "alicia/#", "-t", "alicia-ha/+/+/set", "-t", "#"]))
            Assert.Equal("135 135 135", Codes(sub.Granted));
        // Any client id but its own (or {id}:suffix) is refused: it cannot take over another client's session.
        ProcessResult takeover = await MosquittoClients.PublishAsync([.. AsHomeAssistant("den-switch"), "-t", "homeassistant/status", "-m", "online"]);
        Assert.NotEqual(0, takeover.ExitCode);

        IReadOnlyList<AclGrant> grants = AclPolicy.GrantsFor(new IdentityRecord("homeassistant", IdentityKind.Service, AclPolicy.HomeAssistant));
        Assert.DoesNotContain(grants, g => g.Filter.StartsWith("alicia/", StringComparison.Ordinal));
        Assert.Equal(0, Volatile.Read(ref commands));
    }
}

/// <summary>
/// Issue 10 B1 with Mosquitto: the ACL file 'alicia broker config mosquitto' writes lets the homeassistant identity
/// (its client certificate, MQTT 3.1.1) read the discovery, availability and state the engine's bridge publishes, and
/// send its birth, and nothing in the Alicia tree; the engine (role engine) may publish and read the bridge's topics.
/// </summary>
public sealed class HomeAssistantMosquittoTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new("alicia-ha-mosq");
    private readonly int _tlsPort = FreePort.Next();
    private MosquittoBroker _broker = null!;
    private TestEngine _test = null!;

    private string Bundle(string id) => DeviceProvisioner.DefaultBundleDirectory(_dir.Data, id);

    public async Task InitializeAsync()
    {
        Assert.Equal(0, CaCommand.Execute(["init", .. _dir.Options], TextWriter.Null, TextWriter.Null));
        Assert.Equal(0, DeviceIdentityCommand.Execute(["provision", "engine-svc", "--type", "service", "--role", "engine", .. _dir.Options], TextWriter.Null, TextWriter.Null));
        Assert.Equal(0, DeviceIdentityCommand.Execute(["provision", "homeassistant", "--type", "service", "--role", "homeassistant", .. _dir.Options], TextWriter.Null, TextWriter.Null));
        string outDir = _dir.Sub("mosquitto");
        var stderr = new StringWriter();
        string[] args = ["config", "mosquitto", "--out", outDir, "--port", _tlsPort.ToString(CultureInfo.InvariantCulture), "--plain-port", "0", .. _dir.Options];
        if (Environment.UserName == "root") args = [.. args, "--user", "root"];
        Assert.True(BrokerCommand.Execute(args, TextWriter.Null, stderr) == 0, stderr.ToString());
        // The homeassistant block of the ACL: exactly HA's topics, nothing of the Alicia tree.
        string acl = await File.ReadAllTextAsync(Path.Combine(outDir, "alicia.acl"));
        string[] block = [.. acl[acl.IndexOf("user homeassistant\n", StringComparison.Ordinal)..].Split('\n').Skip(1).TakeWhile(l => l.Length > 0)];
        Assert.Equal(["topic readwrite homeassistant/status", "topic write alicia-ha/+/+/set", "topic read homeassistant/+/+/config",
            "topic read homeassistant/+/+/+/config", "topic read alicia-ha/+/availability", "topic read alicia-ha/+/+/state"], block);
        _broker = await MosquittoBroker.StartAsync(Path.Combine(outDir, "mosquitto.conf"));
        string engine = Bundle("engine-svc");
        _test = await TestEngine.StartAsync(o =>
        {
            o.Name = "engine-svc";
            o.BrokerUrl = $"mqtts://127.0.0.1:{_tlsPort}";
            o.Bus.ClientCertificatePath = Path.Combine(engine, "cert.pem");
            o.Bus.ClientKeyPath = Path.Combine(engine, "key.pem");
            o.Bus.CaCertificatePath = Path.Combine(engine, "ca.pem");
        }, e =>
        {
            var registry = new RegistryService();
            e.AddService(registry).AddService(new HomeAssistantBridge(registry));
        }, directory: _dir);
    }

    public async Task DisposeAsync()
    {
        if (_test is not null) await _test.DisposeAsync();
        if (_broker is not null) await _broker.DisposeAsync();
        _dir.Dispose();
    }

    private string[] AsHomeAssistant(string clientId, string version = "mqttv311") =>
        ["-V", version, "-h", "127.0.0.1", "-p", _tlsPort.ToString(CultureInfo.InvariantCulture), "--cafile", Path.Combine(Bundle("homeassistant"), "ca.pem"),
            "--cert", Path.Combine(Bundle("homeassistant"), "cert.pem"), "--key", Path.Combine(Bundle("homeassistant"), "key.pem"), "-i", clientId];

    [Fact]
    public async Task Home_assistant_with_its_certificate_reads_the_hubs_discovery_sends_its_birth_and_nothing_in_the_alicia_tree()
    {
        await using MosquittoSubscriber ha = await MosquittoClients.SubscribeAsync([.. AsHomeAssistant("homeassistant"), "-v",
            "-t", "homeassistant/+/+/config", "-t", "homeassistant/+/+/+/config", "-t", "alicia-ha/+/availability", "-t", "alicia-ha/+/+/state"]);
        const string config = "homeassistant/binary_sensor/engine_svc/engine/config ";
        string discovered = await ha.WaitForLineAsync(l => l.StartsWith(config, StringComparison.Ordinal));
        Assert.Contains("\"identifiers\":[\"alicia_hub_engine_svc\"]", discovered);
        await ha.WaitForLineAsync(l => l == "alicia-ha/engine_svc/availability online");
        await ha.WaitForLineAsync(l => l == "alicia-ha/engine_svc/engine/state ON");

        // HA's birth reaches the engine, which sends discovery again.
        int before = ha.Log.Split('\n').Count(l => l.StartsWith(config, StringComparison.Ordinal));
        int seen = 0;
        ProcessResult birth = await MosquittoClients.PublishAsync([.. AsHomeAssistant("homeassistant-birth", "mqttv5"), "-q", "1", "-t", "homeassistant/status", "-m", "online"]);
        Assert.True(birth.ExitCode == 0 && !birth.Output.Contains("failed", StringComparison.Ordinal), birth.Output);
        await ha.WaitForLineAsync(l => l.StartsWith(config, StringComparison.Ordinal) && ++seen > before);

        // A command topic is HA's to write; the Alicia tree and the discovery configs are not.
        ProcessResult command = await MosquittoClients.PublishAsync([.. AsHomeAssistant("homeassistant-cmd", "mqttv5"), "-q", "1", "-t", "alicia-ha/some_device/switch/set", "-m", "ON"]);
        Assert.True(command.ExitCode == 0 && !command.Output.Contains("failed", StringComparison.Ordinal), command.Output);
        foreach (string topic in new[] { "alicia/devices/some-device/command", "homeassistant/switch/x/y/config" })
        {
            ProcessResult refused = await MosquittoClients.PublishAsync([.. AsHomeAssistant("homeassistant-bad", "mqttv5"), "-q", "1", "-t", topic, "-m", "{}"]);
            Assert.Contains("Publish 1 failed: Not authorized.", refused.Output);
        }
    }
}
