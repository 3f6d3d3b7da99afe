using System.Text.Json;
using System.Text.RegularExpressions;
using Alicia.Contracts.Messages;
using Alicia.Engine.Registry;

namespace Alicia.HomeAssistant.Tests;

/// <summary>
/// The shape of the discovery payloads as Home Assistant reads them: slugs HA keeps as they are, <c>default_entity_id</c>
/// and <c>object_id</c>, a hub that <c>via_device</c> names, and the speaker capabilities' platforms and commands.
/// </summary>
public sealed partial class DiscoveryPayloadTests
{
    [GeneratedRegex("^[a-z0-9]+(_[a-z0-9]+)*$")]
    private static partial Regex Slug();

    private static DeviceRecord Register(string id, string type, params string[] capabilities)
    {
        var registry = new DeviceRegistry(null);
        var registration = new DeviceRegistration
        {
            DeviceId = id,
            DeviceType = type,
            Capabilities = new DeviceCapabilities { Capabilities = [.. capabilities.Select(c => new Capability { Name = c })] },
            Metadata = new DeviceMetadata { Manufacturer = "Sonos", Model = "One", Location = "living_room", Version = "1.0" },
        };
        registry.Register(registration, "me");
        return registry.Get(id)!;
    }

    [Fact]
    public void The_designs_speaker_gets_buttons_a_url_text_a_volume_number_and_a_group_text_all_with_ha_slugs()
    {
        DeviceRecord speaker = Register("Living-Room.Speaker", "speaker", "audio_playback", "volume_control", "group_management");
        List<HaEntity> entities = HomeAssistantBridge.EntitiesFor(speaker, new HomeAssistantOptions(), "alicia_engine");

        Assert.Equal(
            ["button.alicia_living_room_speaker_play", "button.alicia_living_room_speaker_pause", "button.alicia_living_room_speaker_stop",
             "button.alicia_living_room_speaker_next", "text.alicia_living_room_speaker_play_url", "number.alicia_living_room_speaker_volume",
             "text.alicia_living_room_speaker_group"],
            entities.Select(e => e.EntityId));
        foreach (HaEntity e in entities)
        {
            using JsonDocument config = JsonDocument.Parse(e.Config);
            JsonElement root = config.RootElement;
            string uniqueId = root.GetProperty("unique_id").GetString()!;
            Assert.Matches(Slug(), uniqueId);
            Assert.Equal($"{e.Component}.{uniqueId}", root.GetProperty("default_entity_id").GetString());
            Assert.Equal(e.EntityId, root.GetProperty("default_entity_id").GetString());
            Assert.Equal(uniqueId, root.GetProperty("object_id").GetString());
            Assert.Equal($"homeassistant/{e.Component}/living_room_speaker/{e.ObjectId}/config", e.ConfigTopic);
            Assert.Equal("alicia-ha/living_room_speaker/availability", root.GetProperty("availability_topic").GetString());
            Assert.Equal($"alicia-ha/living_room_speaker/{e.ObjectId}/set", root.GetProperty("command_topic").GetString());
            JsonElement device = root.GetProperty("device");
            Assert.Equal("alicia_living_room_speaker", device.GetProperty("identifiers")[0].GetString());
            Assert.Equal("alicia_hub_alicia_engine", device.GetProperty("via_device").GetString());
            Assert.Equal("living room", device.GetProperty("suggested_area").GetString());
        }
        using JsonDocument volume = JsonDocument.Parse(entities.Single(e => e.Component == "number").Config);
        Assert.Equal(0, volume.RootElement.GetProperty("min").GetInt32());
        Assert.Equal(100, volume.RootElement.GetProperty("max").GetInt32());
        Assert.Equal("%", volume.RootElement.GetProperty("unit_of_measurement").GetString());
        Assert.Equal("alicia-ha/living_room_speaker/volume/state", volume.RootElement.GetProperty("state_topic").GetString());
        using JsonDocument play = JsonDocument.Parse(entities[0].Config);
        Assert.False(play.RootElement.TryGetProperty("state_topic", out _)); // a button has no state
    }

    [Fact]
    public void The_hub_is_a_device_with_the_identifier_every_via_device_names()
    {
        HaEntity hub = HaDiscovery.HubEntity("alicia-engine", new HomeAssistantOptions());
        using JsonDocument config = JsonDocument.Parse(hub.Config);
        JsonElement root = config.RootElement;
        Assert.Equal("homeassistant/binary_sensor/alicia_engine/engine/config", hub.ConfigTopic);
        Assert.Equal("binary_sensor.alicia_alicia_engine_engine", root.GetProperty("default_entity_id").GetString());
        Assert.Equal("connectivity", root.GetProperty("device_class").GetString());
        Assert.Equal("alicia-ha/alicia_engine/engine/state", root.GetProperty("state_topic").GetString());
        Assert.Equal("alicia_hub_alicia_engine", root.GetProperty("device").GetProperty("identifiers")[0].GetString());
        Assert.False(root.GetProperty("device").TryGetProperty("via_device", out _));

        DeviceRecord bulb = Register("hall-bulb", "actuator", "light");
        using JsonDocument light = JsonDocument.Parse(HomeAssistantBridge.EntitiesFor(bulb, new HomeAssistantOptions(), HaSlug.Of("alicia-engine"))[0].Config);
        Assert.Equal(root.GetProperty("device").GetProperty("identifiers")[0].GetString(), light.RootElement.GetProperty("device").GetProperty("via_device").GetString());
    }

    [Theory]
    [InlineData("den-bulb", "den_bulb")]
    [InlineData("Sonos:Kitchen 2", "sonos_kitchen_2")]
    [InlineData("__x--y__", "x_y")]
    [InlineData("ÿ", "unnamed")]
    public void Slugs_are_what_ha_makes_of_the_ids(string id, string slug) => Assert.Equal(slug, HaSlug.Of(id));

    [Fact]
    public void Commands_from_ha_become_device_commands_and_nonsense_is_ignored()
    {
        DeviceRecord speaker = Register("sp", "speaker", "audio_playback", "volume_control", "group_management", "announcement");
        Dictionary<string, HaEntity> e = HomeAssistantBridge.EntitiesFor(speaker, new HomeAssistantOptions()).ToDictionary(x => x.ObjectId);

        DeviceCommand volume = e["volume"].ToCommand("35.5")!;
        Assert.Equal(("volume_control", "set_volume", "35.5"), (volume.Capability, volume.Command, volume.Parameters["volume"]));
        Assert.Equal("100", e["volume"].ToCommand("250")!.Parameters["volume"]);
        Assert.Null(e["volume"].ToCommand("loud"));
        Assert.Null(e["volume"].ToCommand("NaN"));
        Assert.Equal(("audio_playback", "pause"), (e["pause"].ToCommand("PRESS")!.Capability, e["pause"].ToCommand("PRESS")!.Command));
        Assert.Equal("http://radio/stream", e["play_url"].ToCommand("http://radio/stream")!.Parameters["url"]);
        Assert.Equal(("join_group", "kitchen-speaker"), (e["group"].ToCommand("kitchen-speaker")!.Command, e["group"].ToCommand("kitchen-speaker")!.Parameters["group"]));
        Assert.Equal("leave_group", e["group"].ToCommand("none")!.Command);
        Assert.Equal("leave_group", e["group"].ToCommand("")!.Command);
        Assert.Equal("hello", e["announcement"].ToCommand("hello")!.Parameters["text"]);
        Assert.Null(e["announcement"].ToCommand("  "));

        Assert.Equal("42", HaEntity.PayloadOf(new HaCommand { EntityId = "number.alicia_sp_volume", Service = "set_value", Data = { ["value"] = "42" } }));
        Assert.Equal("PRESS", HaEntity.PayloadOf(new HaCommand { EntityId = "button.alicia_sp_play", Service = "press" }));
        Assert.Equal("hi", HaEntity.PayloadOf(new HaCommand { EntityId = "notify.alicia_sp_announcement", Service = "send_message", Data = { ["message"] = "hi" } }));
    }

    [Fact]
    public void Device_data_becomes_the_state_of_the_entities_that_report_it()
    {
        DeviceRecord speaker = Register("sp", "speaker", "volume_control", "audio_playback");
        DeviceRecord sensor = Register("pir", "sensor", "motion", "temperature");
        HaEntity volume = HomeAssistantBridge.EntitiesFor(speaker, new HomeAssistantOptions()).Single(e => e.ObjectId == "volume");
        List<HaEntity> sensors = HomeAssistantBridge.EntitiesFor(sensor, new HomeAssistantOptions());

        Assert.Equal("35", volume.StateFrom(new Dictionary<string, double> { ["volume"] = 35 }));
        Assert.Null(volume.StateFrom(new Dictionary<string, double> { ["on"] = 1 }));
        Assert.Equal("ON", sensors[0].StateFrom(new Dictionary<string, double> { ["motion"] = 1 }));
        Assert.Equal("21.5", sensors[1].StateFrom(new Dictionary<string, double> { ["temperature"] = 21.5 }));
    }
}
