using System.Buffers;
using System.Text;
using System.Text.Json;
using Alicia.Engine.Registry;

namespace Alicia.HomeAssistant;

/// <summary>
/// The MQTT discovery configs of a device's capabilities and of the hub (the engine) they hang off
/// (<c>via_device</c>). Each config sets <c>unique_id</c>, <c>default_entity_id</c> (<c>&lt;domain&gt;.&lt;slug&gt;</c>,
/// HA 2025.10 and later) and <c>object_id</c> (the slug, for older HA), all slugs, so the entity id HA creates is the
/// one the bridge names. The capability → platform mapping is documented in docs/home-assistant.md.
/// </summary>
internal static class HaDiscovery
{
    /// <summary>One entity of a capability: its object id (suffix of the capability), platform, action and extras.</summary>
    private sealed record Spec(string Object, string Component, string Name, HaAction Action, string? StateKey = null,
        string? DeviceClass = null, string? Unit = null, string? Icon = null, string? PressCommand = null, Action<Utf8JsonWriter>? Extra = null);

    /// <summary>HA entities for a capability (none for capabilities HA has no MQTT platform for).</summary>
    private static Spec[] SpecsFor(string capability) => capability switch
    {
        "light" => [new("light", "light", "Light", HaAction.OnOff, "on")],
        "switch" => [new("switch", "switch", "Switch", HaAction.OnOff, "on")],
        "temperature" => [new("temperature", "sensor", "Temperature", HaAction.None, "temperature", "temperature", "°C")],
        "humidity" => [new("humidity", "sensor", "Humidity", HaAction.None, "humidity", "humidity", "%")],
        "illuminance" => [new("illuminance", "sensor", "Illuminance", HaAction.None, "illuminance", "illuminance", "lx")],
        "motion" => [new("motion", "binary_sensor", "Motion", HaAction.None, "motion", "motion")],
        "announcement" => [new("announcement", "notify", "Announcement", HaAction.Announce)],
        // HA's MQTT integration has no media_player platform: playback is a button per transport action and a text
        // entity that plays a URL; volume is a number (0–100 %); grouping is a text entity naming the speaker or group
        // to join (empty or "none" leaves the group).
        "audio_playback" =>
        [
            new("play", "button", "Play", HaAction.Press, Icon: "mdi:play", PressCommand: "play"),
            new("pause", "button", "Pause", HaAction.Press, Icon: "mdi:pause", PressCommand: "pause"),
            new("stop", "button", "Stop", HaAction.Press, Icon: "mdi:stop", PressCommand: "stop"),
            new("next", "button", "Next", HaAction.Press, Icon: "mdi:skip-next", PressCommand: "next"),
            new("play_url", "text", "Play URL", HaAction.PlayUrl, Icon: "mdi:playlist-music", Extra: w => w.WriteNumber("max", 255)),
        ],
        "volume_control" =>
        [
            new("volume", "number", "Volume", HaAction.SetVolume, "volume", Unit: "%", Icon: "mdi:volume-high", Extra: w =>
            {
                w.WriteNumber("min", 0);
                w.WriteNumber("max", 100);
                w.WriteNumber("step", 1);
                w.WriteString("mode", "slider");
            }),
        ],
        "group_management" => [new("group", "text", "Group", HaAction.Group, Icon: "mdi:speaker-multiple", Extra: w => w.WriteNumber("max", 64))],
        _ => [],
    };

    /// <summary>The platforms a capability maps to (for the documentation and tests).</summary>
    public static IEnumerable<string> PlatformsOf(string capability) => SpecsFor(capability).Select(s => s.Component).Distinct();

    /// <summary>HA's device identifier of the hub for an engine name.</summary>
    public static string HubIdentifier(string hubNode) => $"alicia_hub_{hubNode}";

    public static List<HaEntity> EntitiesFor(DeviceRecord device, HomeAssistantOptions options, string hubNode)
    {
        string node = HaSlug.Of(device.DeviceId);
        var result = new List<HaEntity>();
        foreach (string capability in device.CapabilityNames)
        {
            foreach (Spec spec in SpecsFor(capability))
            {
                string objectId = HaSlug.Of(spec.Object);
                result.Add(Build(node, objectId, spec, device.DeviceId, capability, options, w =>
                {
                    w.WriteStartArray("identifiers");
                    w.WriteStringValue($"alicia_{node}");
                    w.WriteEndArray();
                    w.WriteString("name", device.DeviceId);
                    w.WriteString("manufacturer", device.Registration.Metadata.Manufacturer);
                    w.WriteString("model", device.Registration.Metadata.Model);
                    w.WriteString("sw_version", device.Registration.Metadata.Version);
                    if (device.Location.Length > 0) w.WriteString("suggested_area", device.Location.Replace('_', ' '));
                    w.WriteString("via_device", HubIdentifier(hubNode));
                }));
            }
        }
        return result;
    }

    /// <summary>
    /// The retained topics earlier versions published for a device (node = the id with '-' kept, object = the
    /// capability): cleared once per device and run, so an upgraded broker does not show HA each entity twice.
    /// </summary>
    public static IEnumerable<string> LegacyTopics(DeviceRecord device, HomeAssistantOptions options)
    {
        string node = string.Create(device.DeviceId.Length, device.DeviceId, static (span, id) =>
        {
            for (int i = 0; i < id.Length; i++) span[i] = char.IsAsciiLetterOrDigit(id[i]) || id[i] is '_' or '-' ? id[i] : '_';
        });
        foreach (string capability in device.CapabilityNames)
        {
            string? component = capability switch
            {
                "light" or "switch" => capability,
                "temperature" or "humidity" or "illuminance" => "sensor",
                "motion" => "binary_sensor",
                "announcement" => "notify",
                _ => null,
            };
            if (component is not null) yield return $"{options.DiscoveryPrefix}/{component}/{node}/{capability}/config";
        }
        yield return $"{options.StatePrefix}/{node}/availability";
    }

    /// <summary>The hub itself (the engine): a device with a connectivity sensor, so <c>via_device</c> names a device HA knows.</summary>
    public static HaEntity HubEntity(string engineName, HomeAssistantOptions options)
    {
        string node = HaSlug.Of(engineName);
        var spec = new Spec("engine", "binary_sensor", "Engine", HaAction.None, DeviceClass: "connectivity");
        return Build(node, "engine", spec, engineName, "hub", options, w =>
        {
            w.WriteStartArray("identifiers");
            w.WriteStringValue(HubIdentifier(node));
            w.WriteEndArray();
            w.WriteString("name", engineName);
            w.WriteString("manufacturer", "Alicia");
            w.WriteString("model", "Alicia engine");
            w.WriteString("sw_version", typeof(HaDiscovery).Assembly.GetName().Version?.ToString(3) ?? "");
        });
    }

    private static HaEntity Build(string node, string objectId, Spec spec, string deviceId, string capability, HomeAssistantOptions options, Action<Utf8JsonWriter> device)
    {
        string baseTopic = $"{options.StatePrefix}/{node}/{objectId}";
        bool commands = spec.Action != HaAction.None;
        // Entities that report nothing back (notify, button, text) have no state topic: HA keeps them optimistic.
        string? stateTopic = spec.StateKey is not null || capability == "hub" ? baseTopic + "/state" : null;
        string? commandTopic = commands ? baseTopic + "/set" : null;
        string uniqueId = $"alicia_{node}_{objectId}";
        var buffer = new ArrayBufferWriter<byte>(640);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("name", spec.Name);
            w.WriteString("unique_id", uniqueId);
            w.WriteString("default_entity_id", $"{spec.Component}.{uniqueId}");
            w.WriteString("object_id", uniqueId); // HA before 2025.10 reads this one
            w.WriteString("availability_topic", $"{options.StatePrefix}/{node}/availability");
            w.WriteString("payload_available", "online");
            w.WriteString("payload_not_available", "offline");
            if (stateTopic is not null) w.WriteString("state_topic", stateTopic);
            if (commandTopic is not null) w.WriteString("command_topic", commandTopic);
            if (spec.Component is "light" or "switch" or "binary_sensor") { w.WriteString("payload_on", "ON"); w.WriteString("payload_off", "OFF"); }
            if (spec.DeviceClass is not null) w.WriteString("device_class", spec.DeviceClass);
            if (spec.Unit is not null) w.WriteString("unit_of_measurement", spec.Unit);
            if (spec.Component == "sensor") w.WriteString("state_class", "measurement");
            if (spec.Icon is not null) w.WriteString("icon", spec.Icon);
            spec.Extra?.Invoke(w);
            w.WriteStartObject("device");
            device(w);
            w.WriteEndObject();
            w.WriteStartObject("origin");
            w.WriteString("name", "Alicia");
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return new HaEntity(deviceId, capability, spec.Component, node, objectId, $"{options.DiscoveryPrefix}/{spec.Component}/{node}/{objectId}/config",
            stateTopic, commandTopic, Encoding.UTF8.GetString(buffer.WrittenSpan), spec.Action, spec.StateKey, spec.PressCommand);
    }
}
