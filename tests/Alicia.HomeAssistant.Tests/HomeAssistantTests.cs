using System.Collections.Concurrent;
using System.Text;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.HomeAssistant;
using Alicia.Engine.Registry;
using Alicia.Engine.Security;
using Alicia.Tools.Simulation;
using MQTTnet;
using MQTTnet.Protocol;

namespace Alicia.HomeAssistant.Tests;

/// <summary>Home Assistant MQTT discovery mirrored from the registry, seen by a plain MQTT client standing in for HA.</summary>
public sealed class HomeAssistantTests : IAsyncLifetime
{
    private TestEngine _test = null!;
    private RegistryService _registry = null!;
    private IMqttClient _ha = null!;
    private readonly ConcurrentQueue<(string Topic, string Payload, bool Retain)> _seen = new();
    private Action? _onMessage;

    private AliciaEngine Engine => _test.Engine;

    public async Task InitializeAsync()
    {
        _test = await TestEngine.StartAsync(services: e => e.AddService(_registry = new RegistryService()).AddService(new HomeAssistantBridge(_registry)));
        _ha = await RawMqtt.ConnectAsync(_test.Endpoint, "home-assistant");
        _ha.ApplicationMessageReceivedAsync += e =>
        {
            _seen.Enqueue((e.ApplicationMessage.Topic, Encoding.UTF8.GetString(e.ApplicationMessage.Payload), e.ApplicationMessage.Retain));
            _onMessage?.Invoke();
            return Task.CompletedTask;
        };
        await _ha.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("homeassistant/#", MqttQualityOfServiceLevel.AtLeastOnce)
            .WithTopicFilter("alicia-ha/#", MqttQualityOfServiceLevel.AtLeastOnce).Build());
    }

    public async Task DisposeAsync()
    {
        await _ha.CloseAsync();
        await _test.DisposeAsync();
    }

    private Task<(string Topic, string Payload, bool Retain)> Next(Func<(string Topic, string Payload, bool Retain), bool> match)
    {
        var tcs = new TaskCompletionSource<(string, string, bool)>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Check()
        {
            foreach (var m in _seen) if (match(m)) { tcs.TrySetResult(m); return; }
        }
        _onMessage += Check;
        Check();
        return tcs.Task.WaitAsync(Waits.Long);
    }

    [Fact]
    public async Task A_registered_bulb_appears_in_ha_discovery_obeys_ha_and_is_cleared_on_unregister()
    {
        await using var bulb = new SimulatedDevice("den-bulb", SimulatedKind.Bulb, "living_room", new EnvelopeSigner(_test.Identity("ha-sim")),
            _test.Verifier(), _test.Endpoint, TimeSpan.FromSeconds(5));
        await bulb.StartAsync();

        var config = await Next(m => m.Topic == "homeassistant/light/den_bulb/light/config" && m.Payload.Length > 0);
        Assert.Contains("\"unique_id\":\"alicia_den_bulb_light\"", config.Payload);
        Assert.Contains("\"default_entity_id\":\"light.alicia_den_bulb_light\"", config.Payload);
        Assert.Contains($"\"via_device\":\"alicia_hub_{HaSlug.Of(Engine.Name)}\"", config.Payload);
        Assert.Contains("\"availability_topic\":\"alicia-ha/den_bulb/availability\"", config.Payload);
        Assert.Contains("\"command_topic\":\"alicia-ha/den_bulb/light/set\"", config.Payload);
        Assert.Contains("\"identifiers\":[\"alicia_den_bulb\"]", config.Payload);
        Assert.Contains("\"suggested_area\":\"living room\"", config.Payload);
        await Next(m => m.Topic == "alicia-ha/den_bulb/availability" && m.Payload == "online");
        // what earlier versions retained under the id with '-' (node den-bulb) is cleared, so HA does not show the bulb twice
        await Next(m => m.Topic == "homeassistant/light/den-bulb/light/config" && m.Payload.Length == 0);
        await Next(m => m.Topic == "alicia-ha/den-bulb/availability" && m.Payload.Length == 0);
        // the device HA's via_device names is announced too: the hub, with its own availability
        string hub = HaSlug.Of(Engine.Name);
        var hubConfig = await Next(m => m.Topic == $"homeassistant/binary_sensor/{hub}/engine/config" && m.Payload.Length > 0);
        Assert.Contains($"\"identifiers\":[\"alicia_hub_{hub}\"]", hubConfig.Payload);
        await Next(m => m.Topic == $"alicia-ha/{hub}/availability" && m.Payload == "online");

        // HA switches it on: the bulb obeys and its state comes back to HA
        var obeyed = new TaskCompletionSource<DeviceCommand>(TaskCreationOptions.RunContinuationsAsynchronously);
        bulb.CommandReceived += (_, c) => obeyed.TrySetResult(c);
        await _ha.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("alicia-ha/den_bulb/light/set").WithPayload("ON").Build());
        Assert.Equal("turn_on", (await obeyed.Within()).Command);
        await Next(m => m.Topic == "alicia-ha/den_bulb/light/state" && m.Payload == "ON");

        // HA restarts: its birth message makes the bridge publish everything again
        _seen.Clear();
        await _ha.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("homeassistant/status").WithPayload("online").Build());
        await Next(m => m.Topic == "homeassistant/light/den_bulb/light/config" && m.Payload.Length > 0);

        // unregister clears the retained config
        await bulb.UnregisterAsync();
        await Next(m => m.Topic == "homeassistant/light/den_bulb/light/config" && m.Payload.Length == 0);
    }

    [Fact]
    public async Task A_signed_ha_command_on_the_bus_reaches_the_device_and_its_state_comes_back_as_ha_state()
    {
        await using var bulb = new SimulatedDevice("porch-bulb", SimulatedKind.Bulb, "porch", new EnvelopeSigner(_test.Identity("ha-sim-2")),
            _test.Verifier(), _test.Endpoint, TimeSpan.FromSeconds(5));
        await bulb.StartAsync();
        await Next(m => m.Topic == "homeassistant/light/porch_bulb/light/config" && m.Payload.Length > 0);

        // A bus client (an HA integration that speaks Alicia) subscribes to HA state and sends a command.
        await using AliciaBus client = await _test.ClientAsync("ha-integration");
        var state = new TaskCompletionSource<BusMessage<HaState>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await client.SubscribeAsync<HaState>((m, _) =>
        {
            if (m.Data.State == "ON") state.TrySetResult(m);
            return ValueTask.CompletedTask;
        });
        var obeyed = new TaskCompletionSource<DeviceCommand>(TaskCreationOptions.RunContinuationsAsynchronously);
        bulb.CommandReceived += (_, c) => obeyed.TrySetResult(c);

        await client.PublishAsync(new HaCommand { EntityId = "light.alicia_porch_bulb_light", Service = "turn_on" });

        DeviceCommand command = await obeyed.Within();
        Assert.Equal("turn_on", command.Command);
        BusMessage<HaState> published = await state.Within();
        Assert.Equal(Engine.Name, published.Source);
        Assert.Equal("light.alicia_porch_bulb_light", published.Data.EntityId);
    }

    [Fact]
    public void Components_follow_capabilities()
    {
        var registry = new DeviceRegistry(null);
        registry.Register(SimulatedDevice.Describe("esp-1", SimulatedKind.Sensor, "attic"), "me");
        registry.Register(SimulatedDevice.Describe("sonos:1", SimulatedKind.Speaker, "office"), "me");
        var opts = new HomeAssistantOptions();

        List<HaEntity> sensor = HomeAssistantBridge.EntitiesFor(registry.Get("esp-1")!, opts);
        List<HaEntity> speaker = HomeAssistantBridge.EntitiesFor(registry.Get("sonos:1")!, opts);

        Assert.Equal(["homeassistant/sensor/esp_1/temperature/config", "homeassistant/sensor/esp_1/humidity/config"], sensor.Select(e => e.ConfigTopic));
        Assert.Contains("\"device_class\":\"temperature\"", sensor[0].Config);
        Assert.Contains("\"unit_of_measurement\":\"\\u00B0C\"", sensor[0].Config);
        // audio_playback: buttons and a URL text; announcement: notify; volume_control: number
        Assert.Equal(
            ["button.alicia_sonos_1_play", "button.alicia_sonos_1_pause", "button.alicia_sonos_1_stop", "button.alicia_sonos_1_next", "text.alicia_sonos_1_play_url",
             "notify.alicia_sonos_1_announcement", "number.alicia_sonos_1_volume"],
            speaker.Select(e => e.EntityId));
    }

    [Fact]
    public async Task A_simulated_speaker_appears_with_number_and_notify_entities_and_a_number_command_sets_its_volume()
    {
        await using var speaker = new SimulatedDevice("office-speaker", SimulatedKind.Speaker, "office", new EnvelopeSigner(_test.Identity("ha-sim-3")),
            _test.Verifier(), _test.Endpoint, TimeSpan.FromSeconds(5));
        await speaker.StartAsync();

        var volume = await Next(m => m.Topic == "homeassistant/number/office_speaker/volume/config" && m.Payload.Length > 0);
        Assert.Contains("\"default_entity_id\":\"number.alicia_office_speaker_volume\"", volume.Payload);
        Assert.Contains("\"command_topic\":\"alicia-ha/office_speaker/volume/set\"", volume.Payload);
        Assert.Contains("\"min\":0,\"max\":100", volume.Payload);
        var notify = await Next(m => m.Topic == "homeassistant/notify/office_speaker/announcement/config" && m.Payload.Length > 0);
        Assert.Contains("\"command_topic\":\"alicia-ha/office_speaker/announcement/set\"", notify.Payload);
        await Next(m => m.Topic == "homeassistant/button/office_speaker/play/config" && m.Payload.Length > 0);

        // HA moves the volume slider: the number's command reaches the speaker, and its new volume comes back as the number's state
        var obeyed = new TaskCompletionSource<DeviceCommand>(TaskCreationOptions.RunContinuationsAsynchronously);
        speaker.CommandReceived += (_, c) => { if (c.Command == "set_volume") obeyed.TrySetResult(c); };
        await _ha.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("alicia-ha/office_speaker/volume/set").WithPayload("35").Build());
        DeviceCommand command = await obeyed.Within();
        Assert.Equal("volume_control", command.Capability);
        Assert.Equal("35", command.Parameters["volume"]);
        await Next(m => m.Topic == "alicia-ha/office_speaker/volume/state" && m.Payload == "35");

        // an announcement typed into HA's notify entity
        var announced = new TaskCompletionSource<DeviceCommand>(TaskCreationOptions.RunContinuationsAsynchronously);
        speaker.CommandReceived += (_, c) => { if (c.Command == "announce") announced.TrySetResult(c); };
        await _ha.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("alicia-ha/office_speaker/announcement/set").WithPayload("dinner is ready").Build());
        Assert.Equal("dinner is ready", (await announced.Within()).Parameters["text"]);
    }
}
