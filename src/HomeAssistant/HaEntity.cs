using System.Globalization;
using Alicia.Contracts.Messages;

namespace Alicia.HomeAssistant;

/// <summary>What an entity's command does to its device.</summary>
internal enum HaAction
{
    /// <summary>Read-only (sensor, binary_sensor, the hub's connectivity).</summary>
    None,
    /// <summary>light/switch: <c>ON</c>/<c>OFF</c> → <c>turn_on</c>/<c>turn_off</c>.</summary>
    OnOff,
    /// <summary>notify: the message → <c>announce</c> with <c>text</c>.</summary>
    Announce,
    /// <summary>number: 0–100 → <c>set_volume</c> with <c>volume</c>.</summary>
    SetVolume,
    /// <summary>button: a press → the command named by <see cref="HaEntity.PressCommand"/> (play, pause, stop, next).</summary>
    Press,
    /// <summary>text: a URL → <c>play</c> with <c>url</c>.</summary>
    PlayUrl,
    /// <summary>text: a speaker or group id → <c>join_group</c> with <c>group</c>; empty or <c>none</c> → <c>leave_group</c>.</summary>
    Group,
}

/// <summary>
/// One HA entity for one capability (or one action of it) of one device. <see cref="EntityId"/> is the id HA
/// creates (<c>default_entity_id</c>), <see cref="UniqueId"/> its registry id; both are slugs.
/// </summary>
internal sealed record HaEntity(string DeviceId, string Capability, string Component, string NodeId, string ObjectId,
    string ConfigTopic, string? StateTopic, string? CommandTopic, string Config, HaAction Action, string? StateKey = null, string? PressCommand = null)
{
    public string UniqueId => $"alicia_{NodeId}_{ObjectId}";
    public string EntityId => $"{Component}.{UniqueId}";

    /// <summary>The device command for what HA sent on the command topic; null when the payload makes no sense here.</summary>
    public DeviceCommand? ToCommand(string payload)
    {
        string p = payload.Trim();
        var command = new DeviceCommand { Capability = Capability };
        switch (Action)
        {
            case HaAction.OnOff:
                command.Command = p.ToUpperInvariant() switch { "ON" => "turn_on", "OFF" => "turn_off", _ => p };
                if (command.Command.Length == 0) return null;
                break;
            case HaAction.Announce:
                if (p.Length == 0) return null;
                command.Command = "announce";
                command.Parameters["text"] = p;
                break;
            case HaAction.SetVolume:
                if (!double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out double volume) || !double.IsFinite(volume)) return null;
                command.Command = "set_volume";
                command.Parameters["volume"] = Math.Clamp(volume, 0, 100).ToString(CultureInfo.InvariantCulture);
                break;
            case HaAction.Press:
                command.Command = PressCommand!;
                break;
            case HaAction.PlayUrl:
                if (p.Length == 0) return null;
                command.Command = "play";
                command.Parameters["url"] = p;
                break;
            case HaAction.Group:
                if (p.Length == 0 || p.Equals("none", StringComparison.OrdinalIgnoreCase)) command.Command = "leave_group";
                else
                {
                    command.Command = "join_group";
                    command.Parameters["group"] = p;
                }
                break;
            default:
                return null;
        }
        return command;
    }

    /// <summary>The state HA shows for a device's data, or null when the data says nothing about this entity.</summary>
    public string? StateFrom(IReadOnlyDictionary<string, double> values)
    {
        if (StateKey is null || !values.TryGetValue(StateKey, out double value)) return null;
        return Component is "light" or "switch" or "binary_sensor" ? (value > 0 ? "ON" : "OFF") : value.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The payload HA would have sent on the command topic for a signed <see cref="HaCommand"/> (an HA service call).</summary>
    public static string PayloadOf(HaCommand command) => command.Service switch
    {
        "turn_on" => "ON",
        "turn_off" => "OFF",
        "press" => "PRESS",
        _ => command.Data.GetValueOrDefault("value") ?? command.Data.GetValueOrDefault("message") ?? command.Data.GetValueOrDefault("option") ?? "",
    };
}
