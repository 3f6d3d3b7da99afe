using System.Globalization;
using Alicia.Engine.Registry;

namespace Alicia.Assistant.Intents;

/// <summary>The latest values a device reported (its <c>data</c> echo or telemetry).</summary>
internal interface IDeviceReadings
{
    bool TryGet(string deviceId, string key, out double value);
}

/// <summary>
/// The local intent engine: the grammar's patterns over the normalised utterance, targets resolved against the live
/// registry (satellite's room by default), and a decision: a device command, a reply, a question, or no match (the LLM's).
/// Stateless per call and cheap: the home model is rebuilt only when the registry's snapshot changes.
/// </summary>
internal sealed class LocalIntentEngine
{
    private readonly DeviceRegistry _registry;
    private readonly IDeviceReadings _readings;
    private readonly TimeProvider _clock;
    private readonly IReadOnlyDictionary<string, string>? _names;
    private readonly Normalizer _normalizer;
    private readonly PatternMatcher _matcher;
    private readonly TargetResolver _resolver;
    private (IReadOnlyList<DeviceRecord> Snapshot, HomeModel Model)? _home;

    public LocalIntentEngine(Grammar grammar, DeviceRegistry registry, IDeviceReadings readings, TimeProvider? clock = null, IReadOnlyDictionary<string, string>? names = null)
    {
        Grammar = grammar;
        _registry = registry;
        _readings = readings;
        _clock = clock ?? TimeProvider.System;
        _names = names;
        _normalizer = new Normalizer(grammar);
        _matcher = new PatternMatcher(grammar);
        _resolver = new TargetResolver(grammar);
    }

    public Grammar Grammar { get; }

    public HomeModel Home
    {
        get
        {
            IReadOnlyList<DeviceRecord> snapshot = _registry.All;
            if (_home is { } cached && ReferenceEquals(cached.Snapshot, snapshot)) return cached.Model;
            HomeModel model = HomeModel.Build(snapshot, Grammar, _names);
            _home = (snapshot, model);
            return model;
        }
    }

    public string[] Normalize(string text) => _normalizer.Tokens(text);

    public LocalDecision Decide(string text, string defaultRoom)
    {
        string[] tokens = _normalizer.Tokens(text);
        IntentMatch? match = _matcher.Match(tokens);
        if (match is null) return LocalDecision.NoMatch;
        var slots = new Dictionary<string, string>(match.Intent.Slots, StringComparer.Ordinal) { ["pattern"] = match.Pattern };
        if (match.Target.Length > 0) slots["target"] = string.Join(' ', match.Target);
        if (match.Number is { } n) slots["number"] = n.ToString(CultureInfo.InvariantCulture);
        if (match.Kelvin is { } k) slots["kelvin"] = k.ToString(CultureInfo.InvariantCulture);
        if (match.DurationSeconds is { } s) slots["seconds"] = s.ToString(CultureInfo.InvariantCulture);

        switch (match.Name)
        {
            case "stop":
                return new LocalDecision(DecisionKind.Stop, "stop") { Slots = slots };
            case "time":
                return Answer("time", slots, Grammar.Reply("time", ("time", _clock.GetLocalNow().ToString(Grammar.Reply("time_format"), CultureInfo.InvariantCulture))));
            case "date":
                return Answer("date", slots, Grammar.Reply("date", ("date", _clock.GetLocalNow().ToString(Grammar.Reply("date_format"), CultureInfo.InvariantCulture))));
            case "timer_set":
                int seconds = match.DurationSeconds ?? 0;
                if (seconds <= 0) return LocalDecision.NoMatch;
                return new LocalDecision(DecisionKind.TimerSet, "timer_set")
                {
                    Slots = slots, TimerSeconds = seconds, Reply = Grammar.Reply("timer_set", ("duration", SpokenDuration(seconds))),
                };
            case "timer_cancel":
                return new LocalDecision(DecisionKind.TimerCancel, "timer_cancel") { Slots = slots, IsFixedPhrase = true };
            case "query_sensor":
                return Sensor(match, slots, defaultRoom);
            case "query_state":
                return State(match, slots, defaultRoom);
            default:
                return DeviceCommand(match, slots, defaultRoom);
        }
    }

    private static LocalDecision Answer(string intent, Dictionary<string, string> slots, string reply) =>
        new(DecisionKind.Reply, intent) { Slots = slots, Reply = reply };

    public string SpokenDuration(int seconds)
    {
        if (seconds % 3600 == 0) return seconds == 3600 ? Grammar.Reply("duration_hour") : Grammar.Reply("duration_hours", ("n", (seconds / 3600).ToString(CultureInfo.InvariantCulture)));
        if (seconds % 60 == 0) return seconds == 60 ? Grammar.Reply("duration_minute") : Grammar.Reply("duration_minutes", ("n", (seconds / 60).ToString(CultureInfo.InvariantCulture)));
        return seconds == 1 ? Grammar.Reply("duration_second") : Grammar.Reply("duration_seconds", ("n", seconds.ToString(CultureInfo.InvariantCulture)));
    }

    private LocalDecision Problem(string intent, Dictionary<string, string> slots, TargetResolution target) =>
        new(DecisionKind.Reply, intent)
        {
            Slots = slots,
            Reply = Grammar.Reply(target.ReplyKey!, target.ReplyValues),
            IsQuestion = target.Question,
            Outcome = target.Question ? "question" : "unknown_device",
            Room = target.Room,
        };

    private LocalDecision Sensor(IntentMatch match, Dictionary<string, string> slots, string defaultRoom)
    {
        string sensor = match.Intent.Slots.GetValueOrDefault("sensor", "temperature");
        TargetResolution target = _resolver.Resolve(Home, match.Target, match.Intent.Capabilities, defaultRoom, wantAll: true);
        if (!target.Resolved)
        {
            if (target.ReplyKey is "none_in_room" or "unknown_device" && target.Room.Length > 0 && !target.Question)
                return Answer("query_sensor", slots, Grammar.Reply("no_sensor", ("sensor", sensor), ("room", HomeModel.SpokenRoom(target.Room)))) with { Room = target.Room, Outcome = "unknown_device" };
            return Problem("query_sensor", slots, target);
        }
        slots["room"] = target.Room;
        var values = new List<double>();
        foreach (HomeDevice d in target.Devices)
            if (_readings.TryGet(d.Id, sensor, out double v)) values.Add(v);
        string room = HomeModel.SpokenRoom(target.Room);
        if (values.Count == 0)
            return Answer("query_sensor", slots, Grammar.Reply("sensor_no_reading", ("sensor", sensor), ("room", room))) with { Room = target.Room, Devices = target.Devices };
        string unit = target.Devices[0].Record.Registration.Capabilities.Capabilities.Find(c => c.Name == sensor)?.Parameters.FirstOrDefault()?.Unit ?? "";
        string spokenUnit = Grammar.Replies.GetValueOrDefault("unit_" + unit, unit);
        string value = Math.Round(values.Average(), 1).ToString("0.#", CultureInfo.InvariantCulture);
        slots["value"] = value;
        return Answer("query_sensor", slots, Grammar.Reply("sensor", ("value", value), ("unit", spokenUnit), ("room", room))) with { Room = target.Room, Devices = target.Devices };
    }

    /// <summary>"Is the kitchen light on?": the device's last echoed state, never a guess.</summary>
    private LocalDecision State(IntentMatch match, Dictionary<string, string> slots, string defaultRoom)
    {
        TargetResolution target = _resolver.Resolve(Home, match.Target, match.Intent.Capabilities, defaultRoom);
        if (!target.Resolved) return Problem("query_state", slots, target);
        slots["room"] = target.Room;
        LocalDecision answer = Answer("query_state", slots, "") with { Room = target.Room, Devices = target.Devices };
        if (target.Devices.Length > 1)
        {
            int on = target.Devices.Count(d => _readings.TryGet(d.Id, "on", out double v) && v > 0.5);
            string noun = Grammar.NounOf(target.Capability)?.Plural ?? target.Capability;
            return answer with { Reply = Grammar.Reply("state_count", ("count", on.ToString(CultureInfo.InvariantCulture)), ("noun", noun), ("room", HomeModel.SpokenRoom(target.Room))) };
        }
        HomeDevice device = target.Devices[0];
        string reply = _readings.TryGet(device.Id, "on", out double state)
            ? Grammar.Reply(state > 0.5 ? "on" : "off", ("device", device.DisplayName))
            : Grammar.Reply("state_unknown", ("device", device.DisplayName));
        return answer with { Reply = reply };
    }

    private LocalDecision DeviceCommand(IntentMatch match, Dictionary<string, string> slots, string defaultRoom)
    {
        string intent = match.Name;
        bool volume = intent is "set_volume" or "volume_up" or "volume_down";
        TargetResolution target = _resolver.Resolve(Home, match.Target, match.Intent.Capabilities, defaultRoom, wantAll: volume);
        if (!target.Resolved) return Problem(intent, slots, target);
        slots["room"] = target.Room;
        slots["devices"] = string.Join(',', target.Devices.Select(d => d.Id));
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        string command;
        switch (intent)
        {
            case "turn_on": command = "turn_on"; break;
            case "turn_off": command = "turn_off"; break;
            case "set_level":
            {
                double percent = match.Number ?? double.Parse(match.Intent.Slots.GetValueOrDefault("level", "100"), CultureInfo.InvariantCulture);
                percent = Math.Clamp(percent, 0, 100);
                double max = target.Devices[0].Record.Registration.Capabilities.Capabilities.Find(c => c.Name == "light")?.Parameters.Find(p => p.Name == "brightness")?.Max ?? 100;
                command = percent == 0 ? "turn_off" : "turn_on";
                if (percent > 0) parameters["brightness"] = ((int)Math.Round(percent / 100 * max, MidpointRounding.AwayFromZero)).ToString(CultureInfo.InvariantCulture);
                slots["level"] = percent.ToString(CultureInfo.InvariantCulture);
                break;
            }
            case "set_colour_temperature":
            {
                int kelvin = match.Kelvin ?? (int)(match.Number ?? 0);
                HomeDevice? unable = Array.Find(target.Devices, d => !SupportsColourTemperature(d));
                if (unable is not null)
                    return Answer(intent, slots, Grammar.Reply("cannot_colour_temperature", ("device", unable.DisplayName))) with { Room = target.Room, Devices = target.Devices };
                command = "turn_on";
                parameters["color_temp_kelvin"] = kelvin.ToString(CultureInfo.InvariantCulture);
                slots["kelvin"] = parameters["color_temp_kelvin"];
                break;
            }
            case "set_volume":
            {
                double percent = Math.Clamp(match.Number ?? 50, 0, 100);
                command = "set_volume";
                parameters["volume"] = (percent / 100).ToString("0.##", CultureInfo.InvariantCulture);
                slots["level"] = percent.ToString(CultureInfo.InvariantCulture);
                break;
            }
            default: // volume_up, volume_down
                command = "set_volume";
                parameters["volume_step"] = (double.Parse(match.Intent.Slots["step"], CultureInfo.InvariantCulture) / 100).ToString("0.##", CultureInfo.InvariantCulture);
                break;
        }
        return new LocalDecision(DecisionKind.DeviceCommand, intent)
        {
            Slots = slots,
            Room = target.Room,
            Devices = target.Devices,
            All = target.All,
            Capability = target.Capability,
            Command = command,
            Parameters = parameters,
            // A device picked by its capability and place (a speaker of the room), not by name, may be replaced by another.
            AllowElsewhere = !target.Specific && !target.All && volume,
        };
    }

    private static bool SupportsColourTemperature(HomeDevice d) =>
        d.Record.Registration.Capabilities.Capabilities.Any(c => c.Name == "light" && c.Parameters.Any(p => p.Name is "color_temp" or "color_temp_kelvin" or "colour_temperature"));
}
