using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Alicia.Assistant.Actions;
using Alicia.Assistant.Intents;
using Alicia.Contracts.Messages;
using Alicia.Engine.Registry;
using OpenAI.Chat;

namespace Alicia.Assistant.Llm;

/// <summary>What one tool call did, for the model (JSON) and for the route.</summary>
internal sealed record ToolResult(string Json, VoiceCommandRoute Route);

/// <summary>
/// The registry's devices and capabilities offered to the model as tools: switch a device, set a light's level, read a
/// sensor, announce on a speaker. Every device action goes through the same confirmed command path as a local intent.
/// A call naming an unknown device or with bad arguments gets an error result the model can read and recover from,
/// never an exception.
/// </summary>
internal sealed class AssistantTools(LocalIntentEngine intents, DeviceCommander commander, CapabilityRouter router, IDeviceReadings readings)
{
    public static readonly IReadOnlyList<ChatTool> Definitions =
    [
        ChatTool.CreateFunctionTool("switch_device", "Turn a device (light, switch, speaker) on or off. Confirmed by the device.", BinaryData.FromString("""
            {"type":"object","properties":{"device":{"type":"string","description":"device id from the device list, or its spoken name"},"room":{"type":"string","description":"room id, when the name alone is ambiguous"},"on":{"type":"boolean"}},"required":["device","on"]}
            """)),
        ChatTool.CreateFunctionTool("set_level", "Set a light's brightness in percent (0 turns it off). Confirmed by the device.", BinaryData.FromString("""
            {"type":"object","properties":{"device":{"type":"string","description":"device id or spoken name"},"room":{"type":"string"},"percent":{"type":"number","minimum":0,"maximum":100}},"required":["device","percent"]}
            """)),
        ChatTool.CreateFunctionTool("read_sensor", "Read the latest value of a sensor in a room.", BinaryData.FromString("""
            {"type":"object","properties":{"room":{"type":"string","description":"room id"},"sensor":{"type":"string","enum":["temperature","humidity"]}},"required":["room","sensor"]}
            """)),
        ChatTool.CreateFunctionTool("announce", "Speak a short announcement on a speaker in a room.", BinaryData.FromString("""
            {"type":"object","properties":{"text":{"type":"string"},"room":{"type":"string","description":"room id"}},"required":["text","room"]}
            """)),
    ];

    /// <summary>The devices as the system prompt lists them: id, room, capabilities, spoken name.</summary>
    public string DescribeHome()
    {
        var text = new StringBuilder();
        foreach (HomeDevice d in intents.Home.Devices)
            text.Append("- ").Append(d.Id).Append(" (room ").Append(d.Room).Append("; ").Append(string.Join(", ", d.Capabilities))
                .Append("; called \"").Append(d.DisplayName).Append("\"").Append(d.Record.IsLive ? "" : "; offline").Append(")\n");
        return text.ToString();
    }

    public async Task<ToolResult> ExecuteAsync(ModelToolCall call, string defaultRoom, string requestedBy, CancellationToken cancellationToken)
    {
        var route = new VoiceCommandRoute { Intent = "tool:" + call.Name, Source = "llm_tool", Location = defaultRoom, Parameters = { ["arguments"] = call.Arguments } };
        JsonElement args;
        try
        {
            using JsonDocument document = JsonDocument.Parse(call.Arguments.Length == 0 ? "{}" : call.Arguments);
            args = document.RootElement.Clone();
            if (args.ValueKind != JsonValueKind.Object) return Error(route, "the arguments must be a JSON object");
        }
        catch (JsonException e)
        {
            return Error(route, "the arguments are not valid JSON: " + e.Message);
        }
        return call.Name switch
        {
            "switch_device" => await SwitchAsync(args, route, defaultRoom, requestedBy, cancellationToken).ConfigureAwait(false),
            "set_level" => await LevelAsync(args, route, defaultRoom, requestedBy, cancellationToken).ConfigureAwait(false),
            "read_sensor" => ReadSensor(args, route, defaultRoom),
            "announce" => await AnnounceAsync(args, route, defaultRoom, requestedBy, cancellationToken).ConfigureAwait(false),
            _ => Error(route, $"there is no tool '{call.Name}' (tools: switch_device, set_level, read_sensor, announce)"),
        };
    }

    private async Task<ToolResult> SwitchAsync(JsonElement args, VoiceCommandRoute route, string defaultRoom, string requestedBy, CancellationToken cancellationToken)
    {
        if (!args.TryGetProperty("on", out JsonElement on) || on.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            return Error(route, "'on' (true or false) is required");
        if (FindDevice(args, defaultRoom, ["light", "switch", "audio_playback"], route) is not { } device) return Error(route, route.Outcome);
        string command = on.GetBoolean() ? "turn_on" : "turn_off";
        return await CommandAsync(device, command, [], route, requestedBy, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ToolResult> LevelAsync(JsonElement args, VoiceCommandRoute route, string defaultRoom, string requestedBy, CancellationToken cancellationToken)
    {
        if (!args.TryGetProperty("percent", out JsonElement p) || p.ValueKind != JsonValueKind.Number || p.GetDouble() is < 0 or > 100)
            return Error(route, "'percent' (a number from 0 to 100) is required");
        if (FindDevice(args, defaultRoom, ["light"], route) is not { } device) return Error(route, route.Outcome);
        double percent = p.GetDouble();
        double max = device.Record.Registration.Capabilities.Capabilities.Find(c => c.Name == "light")?.Parameters.Find(x => x.Name == "brightness")?.Max ?? 100;
        Dictionary<string, string> parameters = percent > 0 ? new() { ["brightness"] = ((int)Math.Round(percent / 100 * max, MidpointRounding.AwayFromZero)).ToString(CultureInfo.InvariantCulture) } : [];
        return await CommandAsync(device, percent > 0 ? "turn_on" : "turn_off", parameters, route, requestedBy, cancellationToken).ConfigureAwait(false);
    }

    private ToolResult ReadSensor(JsonElement args, VoiceCommandRoute route, string defaultRoom)
    {
        string sensor = Text(args, "sensor") ?? "temperature";
        string room = RoomOf(Text(args, "room")) ?? defaultRoom;
        route.Capability = sensor;
        route.Location = room;
        HomeDevice[] sensors = [.. intents.Home.Devices.Where(d => d.Room == room && d.Capabilities.Contains(sensor))];
        if (sensors.Length == 0) return Error(route, $"there is no {sensor} sensor in room '{room}' (rooms: {string.Join(", ", intents.Home.Devices.Select(d => d.Room).Distinct())})");
        var values = new List<double>();
        foreach (HomeDevice d in sensors)
            if (readings.TryGet(d.Id, sensor, out double v)) values.Add(v);
        route.DeviceIds = [.. sensors.Select(d => d.Id)];
        if (values.Count == 0) return Error(route, $"no {sensor} reading from room '{room}' yet");
        string unit = sensors[0].Record.Registration.Capabilities.Capabilities.Find(c => c.Name == sensor)?.Parameters.FirstOrDefault()?.Unit ?? "";
        route.Outcome = "answered";
        return Ok(route, w =>
        {
            w.WriteNumber("value", Math.Round(values.Average(), 2));
            w.WriteString("unit", unit);
            w.WriteString("room", room);
        });
    }

    private async Task<ToolResult> AnnounceAsync(JsonElement args, VoiceCommandRoute route, string defaultRoom, string requestedBy, CancellationToken cancellationToken)
    {
        string? text = Text(args, "text");
        if (string.IsNullOrWhiteSpace(text)) return Error(route, "'text' is required");
        string room = RoomOf(Text(args, "room")) ?? defaultRoom;
        route.Capability = "announcement";
        route.Location = room;
        RouteDecision decision = router.Resolve("announcement", room, RouteFallback.AnyLocation);
        if (!decision.Routed) return Error(route, decision.Reason);
        HomeDevice device = intents.Home.Devices.First(d => d.Id == decision.Devices[0].DeviceId);
        DeviceOutcome[] outcomes = await commander.ExecuteAsync([device.Record], "announcement", decision.Location, "announce",
            new Dictionary<string, string> { ["text"] = text }, allowElsewhere: true, requestedBy, cancellationToken).ConfigureAwait(false);
        return Outcome(device, outcomes, route);
    }

    private async Task<ToolResult> CommandAsync(HomeDevice device, string command, Dictionary<string, string> parameters, VoiceCommandRoute route, string requestedBy, CancellationToken cancellationToken)
    {
        string capability = new[] { "light", "switch", "audio_playback" }.First(device.Capabilities.Contains);
        route.Capability = capability;
        route.Location = device.Room;
        foreach ((string k, string v) in parameters) route.Parameters[k] = v;
        route.Parameters["command"] = command;
        DeviceOutcome[] outcomes = await commander.ExecuteAsync([device.Record], capability, device.Room, command, parameters, allowElsewhere: false, requestedBy, cancellationToken).ConfigureAwait(false);
        return Outcome(device, outcomes, route);
    }

    private static ToolResult Outcome(HomeDevice device, DeviceOutcome[] outcomes, VoiceCommandRoute route)
    {
        DeviceOutcome outcome = outcomes[0];
        route.DeviceId = outcome.DeviceId;
        route.DeviceIds = [.. outcomes.Select(o => o.DeviceId)];
        foreach (DeviceOutcome o in outcomes) route.DeviceOutcomes[o.DeviceId] = CommandRouter.Describe(o);
        route.Fallback = outcome.RetriedFrom.Length > 0 ? "another_device" : "none";
        route.Timings["echo_confirmed_ms"] = outcome.ElapsedMs;
        if (!outcome.Confirmed)
            return Error(route, outcome.Status switch
            {
                CommandStatus.Offline => $"the device '{device.Id}' is offline",
                CommandStatus.Limited => $"the device '{device.Id}' is at its rate limit; try again shortly",
                _ => $"the device '{outcome.DeviceId}' did not confirm the command",
            }, "failed");
        route.Outcome = "confirmed";
        return Ok(route, w =>
        {
            w.WriteString("device", outcome.DeviceId);
            w.WriteString("name", device.DisplayName);
            w.WriteBoolean("confirmed", true);
        });
    }

    /// <summary>The device the arguments name: an id, else a spoken name resolved as a local intent would (room from the arguments or the asker's).</summary>
    private HomeDevice? FindDevice(JsonElement args, string defaultRoom, string[] capabilities, VoiceCommandRoute route)
    {
        string? name = Text(args, "device");
        if (string.IsNullOrWhiteSpace(name)) { route.Outcome = "'device' is required"; return null; }
        string room = RoomOf(Text(args, "room")) ?? defaultRoom;
        HomeModel home = intents.Home;
        HomeDevice? byId = Array.Find(home.Devices, d => string.Equals(d.Id, name, StringComparison.OrdinalIgnoreCase));
        if (byId is not null)
        {
            if (!capabilities.Any(byId.Capabilities.Contains)) { route.Outcome = $"the device '{byId.Id}' cannot do that (it has {string.Join(", ", byId.Capabilities)})"; return null; }
            return byId;
        }
        TargetResolution target = new TargetResolver(intents.Grammar).Resolve(home, intents.Normalize(name), capabilities, room);
        if (target.Resolved && target.Devices.Length == 1) return target.Devices[0];
        route.Outcome = target.Resolved
            ? $"'{name}' names several devices: {string.Join(", ", target.Devices.Select(d => d.Id))}"
            : $"no device '{name}' is registered{(target.Question ? " (ambiguous: " + intents.Grammar.Reply(target.ReplyKey!, target.ReplyValues) + ")" : "")}; known devices: {string.Join(", ", home.Devices.Select(d => d.Id))}";
        return null;
    }

    private string? RoomOf(string? said)
    {
        if (string.IsNullOrWhiteSpace(said)) return null;
        string s = said.Trim().ToLowerInvariant();
        HomeModel home = intents.Home;
        if (home.Devices.Any(d => d.Room == s)) return s;
        string[] words = s.Replace('_', ' ').Split(' ', StringSplitOptions.RemoveEmptyEntries);
        foreach ((string[] phrase, string room) in home.RoomPhrases)
            if (phrase.AsSpan().SequenceEqual(words)) return room;
        return s;
    }

    private static string? Text(JsonElement args, string name) =>
        args.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static ToolResult Error(VoiceCommandRoute route, string error, string outcome = "tool_error")
    {
        route.Outcome = outcome;
        route.Parameters["error"] = error;
        return new ToolResult(Json(w =>
        {
            w.WriteBoolean("ok", false);
            w.WriteString("error", error);
        }), route);
    }

    private static ToolResult Ok(VoiceCommandRoute route, Action<Utf8JsonWriter> write) => new(Json(w =>
    {
        w.WriteBoolean("ok", true);
        write(w);
    }), route);

    private static string Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        // Relaxed escaping: the model reads "no device 'x'", not \u0027.
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            write(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
