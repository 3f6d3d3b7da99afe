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
}
