using DeviceCommand = Alicia.Contracts.Messages.DeviceCommand;
using System.Text;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Registry;
using Alicia.Engine.Security;
using Alicia.Tools.Simulation;
using Alicia.Host.Commands;
using MQTTnet;
using MQTTnet.Protocol;

namespace Alicia.Registry.Tests;

/// <summary>The engine with the registry service, its embedded broker on TCP, simulated devices with their own connections and wills.</summary>
public sealed class EndToEndTests : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _owned = [];
    private TestEngine _test = null!;
    private RegistryService _registry = null!;

    private AliciaEngine Engine => _test.Engine;
    private string Keys => _test.Directory.Keys;

    public async Task InitializeAsync() =>
        _test = await TestEngine.StartAsync(o => o.HeartbeatInterval = TimeSpan.FromSeconds(1),
            e => e.AddService(_registry = new RegistryService(new RegistryOptions { SweepInterval = TimeSpan.FromMilliseconds(50) })));

    public async Task DisposeAsync()
    {
        for (int i = _owned.Count - 1; i >= 0; i--) await _owned[i].DisposeAsync();
        await _test.DisposeAsync();
    }

    private async Task<SimulatedDevice> DeviceAsync(string id, SimulatedKind kind, string location, TimeSpan? heartbeat = null, bool start = true)
    {
        var device = new SimulatedDevice(id, kind, location, new EnvelopeSigner(_test.Identity("sim-owner")), _test.Verifier(), _test.Endpoint, heartbeat ?? TimeSpan.FromSeconds(1));
        _owned.Add(device);
        if (start) await device.StartAsync();
        return device;
    }

    private async Task<AliciaBus> ClientAsync(string name = "alicia-cli")
    {
        AliciaBus bus = await _test.ClientAsync(name);
        _owned.Add(bus);
        return bus;
    }

    /// <summary>A plain MQTT client, closed with the test.</summary>
    private async Task<IMqttClient> RawAsync(string clientId)
    {
        IMqttClient raw = await RawMqtt.ConnectAsync(_test.Endpoint, clientId);
        _owned.Add(new Disposer(raw.CloseAsync));
        return raw;
    }

    [Fact]
    public async Task A_device_nobody_configured_registers_is_listed_gets_a_routed_command_goes_offline_when_killed_and_back_when_it_returns()
    {
        Task<RegistryChange> registered = RegistryWaits.Change(_registry.Registry, c => c.Kind == RegistryChangeKind.Registered && c.Device.DeviceId == "kitchen-bulb");
        SimulatedDevice bulb = await DeviceAsync("kitchen-bulb", SimulatedKind.Bulb, "kitchen");
        Assert.Equal(DeviceState.Online, (await registered).Device.State);

        // alicia devices list / show, over TCP like the CLI
        var output = new StringWriter();
        int exit = await DevicesCommand.ExecuteAsync(["list", "--port", _test.Port.ToString(), "--keys", Keys], output, output);
        Assert.True(exit == 0, output.ToString());
        Assert.Contains("kitchen-bulb", output.ToString());
        Assert.Contains("online", output.ToString());
        output = new StringWriter();
        Assert.Equal(0, await DevicesCommand.ExecuteAsync(["show", "kitchen-bulb", "--port", _test.Port.ToString(), "--keys", Keys], output, output));
        Assert.Contains("light v1.0 (on:bool, brightness:int, color_temp_kelvin:int [K])", output.ToString());
        Assert.Contains("rate_limit=20/second", output.ToString());

        // "light in kitchen": routed to the live device, which obeys the signed command
        var obeyed = new TaskCompletionSource<DeviceCommand>(TaskCreationOptions.RunContinuationsAsynchronously);
        bulb.CommandReceived += (_, c) => obeyed.TrySetResult(c);
        AliciaBus client = await ClientAsync();
        BusMessage<RoutingResult> routed = await client.RequestAsync<CapabilityCommand, RoutingResult>(
            new CapabilityCommand { Capability = "light", Location = "kitchen", Command = "turn_on", Parameters = { ["brightness"] = "180" } }, Engine.Name, timeout: Waits.Long);
        Assert.Equal(200, routed.Data.Status);
        Assert.Equal(["kitchen-bulb"], routed.Data.DeviceIds);
        Assert.Equal("turn_on", (await obeyed.Within()).Command);
        Assert.Equal("180", bulb.State["brightness"]);

        // killed: the broker sends its will, the registry marks it offline
        long firstBirth = bulb.BirthSequence;
        Task<RegistryChange> offline = RegistryWaits.State(_registry.Registry, "kitchen-bulb", DeviceState.Offline);
        await bulb.KillAsync();
        Assert.Equal("will", (await offline).Cause);
        BusMessage<RoutingResult> nowhere = await client.RequestAsync<CapabilityCommand, RoutingResult>(
            new CapabilityCommand { Capability = "light", Location = "kitchen", Command = "turn_on" }, Engine.Name, timeout: Waits.Long);
        Assert.Equal(503, nowhere.Data.Status);

        // back: a new connection, a new birth sequence
        Task<RegistryChange> online = RegistryWaits.State(_registry.Registry, "kitchen-bulb", DeviceState.Online);
        SimulatedDevice again = await DeviceAsync("kitchen-bulb", SimulatedKind.Bulb, "kitchen");
        await online;
        Assert.True(again.BirthSequence > firstBirth);

        // all of it survives an engine restart
        await _test.RestartAsync();
        DeviceRecord? restored = _registry.Registry.Get("kitchen-bulb");
        Assert.NotNull(restored);
        Assert.Equal("sim-owner", restored.Owner);
        Assert.Equal(["light"], restored.CapabilityNames);
    }

    [Fact]
    public async Task A_device_that_stops_heartbeating_goes_offline_within_two_intervals()
    {
        Task<RegistryChange> registered = RegistryWaits.Change(_registry.Registry, c => c.Device.DeviceId == "hall-sensor" && c.Kind == RegistryChangeKind.Registered);
        // Two heartbeats after the registration: by then the registry knows the device's 200 ms interval
        // (a heartbeat that raced ahead of the registration is ignored, and the interval stays the default).
        int beatsAfterRegistration = 0;
        var beating = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IAsyncDisposable beats = await Engine.Bus.SubscribeAsync<ServiceHealth>((m, _) =>
        {
            if (m.Data.Service == "hall-sensor" && _registry.Registry.Get("hall-sensor") is not null && Interlocked.Increment(ref beatsAfterRegistration) == 2) beating.TrySetResult();
            return ValueTask.CompletedTask;
        }, new SubscribeOptions { ReceiveAll = true });
        SimulatedDevice sensor = await DeviceAsync("hall-sensor", SimulatedKind.Sensor, "hallway", TimeSpan.FromMilliseconds(200));
        await registered;
        await beating.Task.WaitAsync(Waits.Long);
        Assert.Equal(TimeSpan.FromMilliseconds(200), _registry.Registry.Get("hall-sensor")!.HeartbeatInterval);
        // Stop heartbeats without dropping the connection (no will): only liveness can notice. The
        // record is live (mutable), so what it says is captured when the change is raised.
        var offline = new TaskCompletionSource<(string Cause, DateTimeOffset LastSeen, DateTimeOffset At)>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnChange(RegistryChange c)
        {
            if (c.Device.DeviceId == "hall-sensor" && c.Kind == RegistryChangeKind.StateChanged && c.Device.State == DeviceState.Offline)
                offline.TrySetResult((c.Cause, c.Device.LastSeen, DateTimeOffset.UtcNow));
        }
        _registry.Registry.Changed += OnChange;
        DateTimeOffset lastSeenBefore = _registry.Registry.Get("hall-sensor")!.LastSeen;
        await sensor.PauseHeartbeatsAsync();
        (string cause, DateTimeOffset lastSeen, DateTimeOffset at) = await offline.Task.WaitAsync(Waits.Long);
        _registry.Registry.Changed -= OnChange;
        Assert.Equal("missed_heartbeats", cause);
        TimeSpan silent = at - lastSeen;
        Assert.True(silent < TimeSpan.FromMilliseconds(2 * 200 + 150), $"offline after {silent.TotalMilliseconds} ms of silence (interval 200 ms, sweep 50 ms)");
        Assert.True(lastSeen >= lastSeenBefore);
    }

    [Fact]
    public async Task Plain_json_registrations_are_accepted_and_bad_ones_refused_with_the_field_on_the_result_topic()
    {
        IMqttClient raw = await RawAsync("esp-plain");
        var results = new Dictionary<string, TaskCompletionSource<string>>
        {
            ["alicia/system/discovery/register/esp-plain-1/result"] = new(TaskCreationOptions.RunContinuationsAsynchronously),
            ["alicia/system/discovery/register/_invalid/result"] = new(TaskCreationOptions.RunContinuationsAsynchronously),
            ["alicia/system/discovery/register/esp-plain-2/result"] = new(TaskCreationOptions.RunContinuationsAsynchronously),
        };
        raw.ApplicationMessageReceivedAsync += e =>
        {
            if (results.TryGetValue(e.ApplicationMessage.Topic, out var tcs)) tcs.TrySetResult(Encoding.UTF8.GetString(e.ApplicationMessage.Payload));
            return Task.CompletedTask;
        };
        await raw.SubscribeAsync("alicia/system/discovery/register/+/result", MqttQualityOfServiceLevel.AtLeastOnce);

        async Task Send(string json) => await raw.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("alicia/system/discovery/register")
            .WithPayload(json).WithContentType("application/json").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

        await Send("""{"device_id":"esp-plain-1","device_type":"sensor","capabilities":{"capabilities":[{"name":"temperature","version":"1.0","parameters":[],"endpoints":{"input":[],"output":[]}}],"constraints":{"max_connections":0,"rate_limit":"","latency_requirement":""}},"endpoints":{},"metadata":{"manufacturer":"Espressif","model":"ESP32","location":"attic","version":"0.1"}}""");
        await Send("""{"device_id":"attic/esp","device_type":"sensor","capabilities":{"capabilities":[{"name":"temperature"}]},"metadata":{"location":"attic"}}""");
        await Send("""{"device_id":"esp-plain-2","device_type":"sensor","capabilities":{"capabilities":[{"name":"temperature","version":7}]},"metadata":{"location":"attic"}}""");

        string ok = await results["alicia/system/discovery/register/esp-plain-1/result"].Within();
        string slash = await results["alicia/system/discovery/register/_invalid/result"].Within();
        string badType = await results["alicia/system/discovery/register/esp-plain-2/result"].Within();
        Assert.Contains("\"accepted\":true", ok);
        Assert.Contains("\"outcome\":\"registered\"", ok);
        Assert.Contains("\"field\":\"device_id\"", slash);
        Assert.Contains("must not contain", slash); // the JSON writer escapes the quotes around '/'
        Assert.Contains("\"accepted\":false", badType);
        Assert.Contains("\"field\":\"version\"", badType);
        Assert.Equal(DeviceRecord.PlainOwnerPrefix + "esp-plain-1", _registry.Registry.Get("esp-plain-1")!.Owner);
        Assert.Null(_registry.Registry.Get("attic/esp"));
        Assert.Null(_registry.Registry.Get("esp-plain-2"));
    }

    [Fact]
    public async Task An_unsigned_stale_death_notice_or_forged_birth_changes_nothing_and_the_current_will_does()
    {
        Task<RegistryChange> registered = RegistryWaits.Change(_registry.Registry, c => c.Device.DeviceId == "porch-switch" && c.Kind == RegistryChangeKind.Registered);
        SimulatedDevice device = await DeviceAsync("porch-switch", SimulatedKind.Switch, "porch", TimeSpan.FromSeconds(30));
        await registered;
        Task<RegistryChange> born = RegistryWaits.Change(_registry.Registry, c => c.Device.DeviceId == "porch-switch" && c.Device.BirthSequence == device.BirthSequence);
        if (_registry.Registry.Get("porch-switch")!.BirthSequence != device.BirthSequence) await born.WaitAsync(Waits.Long).ContinueWith(_ => { });
        var transitions = new List<string>();
        _registry.Registry.Changed += c => { if (c.Device.DeviceId == "porch-switch") lock (transitions) transitions.Add($"{c.Device.State}:{c.Cause}"); };
        Task<RegistryChange> offline = RegistryWaits.State(_registry.Registry, "porch-switch", DeviceState.Offline);

        IMqttClient raw = await RawAsync("forger");
        async Task Status(string json) => await raw.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("alicia/devices/porch-switch/status")
            .WithPayload(json).WithContentType("application/json").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        long current = device.BirthSequence;
        await Status(StatusJson("offline", current - 1));   // stale will
        await Status(StatusJson("online", current + 5));    // unsigned birth: ignored
        await Status(StatusJson("offline", current));       // the current connection's will

        RegistryChange change = await offline;
        Assert.Equal("will", change.Cause);
        Assert.Equal(current, change.Device.BirthSequence);
        lock (transitions) Assert.Equal(["Offline:will"], transitions);
    }

    private static string StatusJson(string state, long sequence) =>
        "{\"state\":\"" + state + "\",\"birth_sequence\":" + sequence.ToString(System.Globalization.CultureInfo.InvariantCulture) + ",\"attributes\":{}}";

    private sealed class Disposer(Func<Task> action) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await action();
    }
}
