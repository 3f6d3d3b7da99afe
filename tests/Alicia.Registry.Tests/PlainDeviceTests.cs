using System.Globalization;
using System.Text;
using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Engine.Hosting;
using Alicia.Engine.Registry;
using Alicia.Engine.Security.Audit;
using Alicia.Engine.Security.Gateway;
using Alicia.Engine.Security.Identity;
using Alicia.Host.Commands;
using Alicia.Tools;

namespace Alicia.Registry.Tests;

/// <summary>
/// A plain-JSON device as a user runs one: provisioned with a password, behind the security gateway (the
/// default), speaking with <c>mosquitto_pub</c>/<c>mosquitto_sub</c> on the loopback listener.
/// </summary>
public sealed class PlainDeviceTests : IAsyncLifetime
{
    private const string Password = "esp-secret-1";
    private readonly TempDirectory _dir = new("alicia-plain");
    private TestEngine _test = null!;
    private AuditLog _audit = null!;
    private RegistryService _registry = null!;

    private string[] DirOptions => ["--DataDirectory", _dir.Data, "--keys", _dir.Keys];

    public async Task InitializeAsync()
    {
        Assert.Equal(0, CaCommand.Execute(["init", .. DirOptions], TextWriter.Null, TextWriter.Null));
        Assert.Equal(0, DeviceIdentityCommand.Execute(["provision", "esp-plain", "--type", "sensor", "--password-from-env", "ESP_PASSWORD", .. DirOptions],
            TextWriter.Null, TextWriter.Null, name => name == "ESP_PASSWORD" ? Password : null));
        Assert.Equal(0, DeviceIdentityCommand.Execute(["provision", "living-room-speaker", "--type", "speaker", "--password-from-env", "ESP_PASSWORD", .. DirOptions],
            TextWriter.Null, TextWriter.Null, name => name == "ESP_PASSWORD" ? Password : null));
        _audit = new AuditLog(Path.Combine(_dir.Data, "audit.db"));
        _test = await TestEngine.StartAsync(null, e =>
        {
            var identity = new IdentityService(e.Options, TimeSpan.FromMilliseconds(50));
            e.AddService(identity).AddService(new SecurityGateway(new GatewayOptions(), new IdentityDirectories(LocalTools.Directory(_dir.Data), identity.Store), _audit));
            e.AddService(_registry = new RegistryService(new RegistryOptions
            {
                SweepInterval = TimeSpan.FromMilliseconds(50),
                DefaultHeartbeatInterval = TimeSpan.FromSeconds(1),
            }));
        }, directory: _dir);
    }

    public async Task DisposeAsync()
    {
        await _test.DisposeAsync();
        await _audit.DisposeAsync();
        _dir.Dispose();
    }

    private string Port => _test.Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>mosquitto_pub as the device: its id, its password, MQTT 5, QoS 1, JSON.</summary>
    private Task<ProcessResult> Pub(string topic, string message, string clientId = "esp-plain") =>
        MosquittoClients.PublishAsync("-V", "mqttv5", "-h", "127.0.0.1", "-p", Port, "-i", clientId, "-u", "esp-plain", "-P", Password,
            "-q", "1", "-t", topic, "-D", "publish", "content-type", "application/json", "-m", message);

    internal const string Registration =
        """{"device_id":"esp-plain","device_type":"sensor","capabilities":{"capabilities":[{"name":"temperature"}]},"metadata":{"manufacturer":"Espressif","model":"ESP32","location":"attic","version":"0.1"}}""";

    /// <summary>A heartbeat as a device that cannot sign sends it: an unsigned JSON envelope (the gateway countersigns it).</summary>
    internal static string Heartbeat(string id, int intervalMs) =>
        "{\"message_id\":\"" + Guid.NewGuid().ToString() + "\",\"timestamp\":\"" + DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)
        + "\",\"source\":\"" + id + "\",\"destination\":\"*\",\"message_type\":\"event\",\"payload\":{\"data\":{\"service\":\"" + id
        + "\",\"status\":\"healthy\",\"interval_ms\":" + intervalMs.ToString(CultureInfo.InvariantCulture) + "}},\"security\":{\"signature\":null}}";

    [Fact]
    public async Task A_plain_json_device_that_heartbeats_over_mosquitto_pub_stays_online()
    {
        Task<RegistryChange> registered = RegistryWaits.Change(_registry.Registry, c => c.Device.DeviceId == "esp-plain" && c.Kind == RegistryChangeKind.Registered);
        ProcessResult reg = await Pub("alicia/system/discovery/register", Registration);
        Assert.True(reg.ExitCode == 0, reg.Output);
        await registered;
        var transitions = new List<string>();
        _registry.Registry.Changed += c => { if (c.Device.DeviceId == "esp-plain") lock (transitions) transitions.Add($"{c.Device.State}:{c.Cause}"); };

        // Heartbeats every ~300 ms announcing a 1 s interval, for 4 s: more than twice the 1.5 s offline limit.
        DateTimeOffset until = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(4);
        while (DateTimeOffset.UtcNow < until)
        {
            ProcessResult beat = await Pub("alicia/system/health/heartbeat", Heartbeat("esp-plain", 1000));
            Assert.True(beat.ExitCode == 0, beat.Output);
            await Task.Delay(300);
        }
        DeviceRecord device = _registry.Registry.Get("esp-plain")!;
        Assert.Equal(DeviceState.Online, device.State);
        Assert.Equal(TimeSpan.FromSeconds(1), device.HeartbeatInterval); // the heartbeats counted
        lock (transitions) Assert.DoesNotContain(transitions, t => t.StartsWith("Offline", StringComparison.Ordinal));
        Assert.True(DateTimeOffset.UtcNow - device.LastSeen < TimeSpan.FromSeconds(1.5), $"last seen {device.LastSeen:O}");
    }

    /// <summary>The README's plain-device example (the sh block after its marker), on this engine's port.</summary>
    private string ReadmeExample()
    {
        string readme = File.ReadAllText(Path.Combine(Repository.Root, "README.md"));
        int marker = readme.IndexOf("<!-- plain-device-example", StringComparison.Ordinal);
        Assert.True(marker >= 0, "README.md lost its plain-device example");
        int start = readme.IndexOf("```sh\n", marker, StringComparison.Ordinal) + 6;
        int end = readme.IndexOf("```", start, StringComparison.Ordinal);
        string script = readme[start..end];
        Assert.Contains("-p 1883 ", script);
        return script.Replace("-p 1883 ", "-p " + Port + " ", StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_readme_plain_device_example_registers_the_designs_speaker_gets_its_result_and_heartbeats()
    {
        Task<RegistryChange> registered = RegistryWaits.Change(_registry.Registry, c => c.Device.DeviceId == "living-room-speaker" && c.Kind == RegistryChangeKind.Registered);
        var data = new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IAsyncDisposable sub = await _test.Engine.Bus.SubscribeAsync<DeviceData>((m, _) =>
        {
            if (m.Source == "living-room-speaker" && m.Data.Values.TryGetValue("volume", out double v)) data.TrySetResult(v);
            return ValueTask.CompletedTask;
        }, new Alicia.Engine.Bus.SubscribeOptions { ReceiveAll = true });

        ProcessResult run = await ChildProcess.RunAsync("bash", ["-e", "-c", ReadmeExample()], TimeSpan.FromSeconds(60),
            psi => psi.Environment["ESP_PASSWORD"] = Password);
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("\"accepted\":true", run.StandardOutput);
        Assert.Contains("\"outcome\":\"registered\"", run.StandardOutput);
        DeviceRecord device = (await registered).Device;
        Assert.Equal(["audio_playback", "volume_control", "group_management"], device.CapabilityNames);
        Assert.Equal(35, await data.Task.WaitAsync(Waits.Long));
        Assert.Equal(TimeSpan.FromSeconds(30), _registry.Registry.Get("living-room-speaker")!.HeartbeatInterval); // the heartbeat counted
    }

    [Fact]
    public async Task Capabilities_as_a_list_of_objects_are_accepted_and_a_list_of_numbers_refused_with_the_field()
    {
        await using MosquittoSubscriber result = await MosquittoClients.SubscribeAsync("-V", "mqttv5", "-h", "127.0.0.1", "-p", Port, "-i", "esp-plain:sub",
            "-u", "esp-plain", "-P", Password, "-t", "alicia/system/discovery/register/esp-plain/result");
        Assert.Equal("0", result.Granted); // its own result topic (was 135, not authorised)
        ProcessResult bad = await Pub("alicia/system/discovery/register", """{"device_id":"esp-plain","device_type":"sensor","capabilities":[7],"metadata":{"location":"attic"}}""");
        Assert.True(bad.ExitCode == 0, bad.Output);
        string refused = await result.WaitForLineAsync(l => l.Contains("\"accepted\":false", StringComparison.Ordinal));
        Assert.Contains("\"field\":\"capabilities\"", refused);
        Task<RegistryChange> registered = RegistryWaits.Change(_registry.Registry, c => c.Device.DeviceId == "esp-plain" && c.Kind == RegistryChangeKind.Registered);
        ProcessResult ok = await Pub("alicia/system/discovery/register",
            """{"device_id":"esp-plain","device_type":"sensor","capabilities":[{"name":"temperature","version":"1.0"},"humidity"],"metadata":{"location":"attic"}}""");
        Assert.True(ok.ExitCode == 0, ok.Output);
        Assert.Equal(["temperature", "humidity"], (await registered).Device.CapabilityNames);
        await result.WaitForLineAsync(l => l.Contains("\"accepted\":true", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_crashed_simulator_device_behind_the_gateway_goes_offline_by_its_will_not_after_missed_heartbeats()
    {
        string password = LocalTools.EnsurePassword(_dir.Data, LocalTools.Simulator);
        var device = new Alicia.Tools.Simulation.SimulatedDevice("sim-porch-bulb", Alicia.Tools.Simulation.SimulatedKind.Bulb, "porch",
            new Alicia.Engine.Security.EnvelopeSigner(_test.Identity(LocalTools.Simulator)), _test.Verifier(), _test.Endpoint, TimeSpan.FromSeconds(30))
        {
            Credentials = (LocalTools.Simulator, Encoding.UTF8.GetBytes(password)),
        };
        await using (device)
        {
            Task<RegistryChange> born = RegistryWaits.Change(_registry.Registry, c => c.Device.DeviceId == "sim-porch-bulb" && c.Device.State == DeviceState.Online);
            await device.StartAsync();
            await born;
            DateTimeOffset deadline = DateTimeOffset.UtcNow + Waits.Long;
            while (_registry.Registry.Get("sim-porch-bulb")!.BirthSequence != device.BirthSequence && DateTimeOffset.UtcNow < deadline) await Task.Delay(20);
            Assert.Equal(device.BirthSequence, _registry.Registry.Get("sim-porch-bulb")!.BirthSequence);

            Task<RegistryChange> offline = RegistryWaits.State(_registry.Registry, "sim-porch-bulb", DeviceState.Offline);
            await device.KillAsync(); // the connection drops without DISCONNECT, as after kill -9: the broker sends the will
            RegistryChange change = await offline; // within 15 s; missed heartbeats would take 45 s
            Assert.Equal("will", change.Cause);
        }
    }
}
