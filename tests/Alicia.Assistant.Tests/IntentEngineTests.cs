using Alicia.Assistant.Intents;

namespace Alicia.Assistant.Tests;

/// <summary>The local intent engine on the test home: each intent, numbers as words, the satellite's room, ambiguity, unknown devices.</summary>
public sealed class IntentEngineTests : IDisposable
{
    private readonly IntentHarness _home = new();

    public void Dispose() => _home.Dispose();

    private static string[] Ids(LocalDecision d) => [.. d.Devices.Select(x => x.Id).Order()];

    [Theory]
    [InlineData("Turn on the kitchen light", "turn_on", "kitchen-light")]
    [InlineData("turn the kitchen light on, please", "turn_on", "kitchen-light")]
    [InlineData("Switch off the light in the bedroom.", "turn_off", "bedroom-light")]
    [InlineData("could you turn the hallway lamp off", "turn_off", "hallway-light")]
    [InlineData("turn on the lamp in the living room", "turn_on", "living-room-lamp")]
    [InlineData("switch on the ceiling light in the lounge", "turn_on", "living-room-ceiling")]
    [InlineData("turn on the kettle", "turn_on", "kitchen-kettle")]
    [InlineData("switch the bedroom fan off", "turn_off", "bedroom-fan")]
    public void Switches_the_device_the_words_name(string text, string intent, string device)
    {
        LocalDecision d = _home.Decide(text, "kitchen");
        Assert.Equal(DecisionKind.DeviceCommand, d.Kind);
        Assert.Equal(intent, d.Intent);
        Assert.Equal([device], Ids(d));
        Assert.Equal(intent, d.Command);
    }

    [Fact]
    public void The_satellites_room_is_the_default_place()
    {
        Assert.Equal(["kitchen-light"], Ids(_home.Decide("turn on the light", "kitchen")));
        Assert.Equal(["bedroom-light"], Ids(_home.Decide("turn on the light", "bedroom")));
        Assert.Equal(["office-light"], Ids(_home.Decide("lights off", "office")));
        // A device named well enough is found in another room.
        Assert.Equal(["bedroom-fan"], Ids(_home.Decide("turn on the fan", "kitchen")));
    }

    [Theory]
    [InlineData("set the kitchen light to 50 percent", "128")]
    [InlineData("set the kitchen light to fifty percent", "128")]
    [InlineData("dim the kitchen light to twenty five percent", "64")]
    [InlineData("set the kitchen light to 100%", "255")]
    [InlineData("kitchen light to one hundred percent", "255")]
    [InlineData("dim the kitchen light", "77")]
    public void Levels_in_percent_as_digits_or_words_become_the_devices_brightness(string text, string brightness)
    {
        LocalDecision d = _home.Decide(text, "");
        Assert.Equal("set_level", d.Intent);
        Assert.Equal(["kitchen-light"], Ids(d));
        Assert.Equal(brightness, d.Parameters["brightness"]);
    }

    [Fact]
    public void Zero_percent_turns_the_light_off()
    {
        LocalDecision d = _home.Decide("set the bedroom light to zero percent", "");
        Assert.Equal("turn_off", d.Command);
        Assert.Empty(d.Parameters);
    }

    [Fact]
    public void All_the_lights_in_a_room()
    {
        LocalDecision d = _home.Decide("turn on all the lights in the living room", "kitchen");
        Assert.Equal(DecisionKind.DeviceCommand, d.Kind);
        Assert.True(d.All);
        Assert.Equal(["living-room-ceiling", "living-room-lamp"], Ids(d));
        Assert.Equal(["living-room-ceiling", "living-room-lamp"], Ids(_home.Decide("turn off the lights", "living_room")));
    }

    [Fact]
    public void Two_lights_in_the_room_and_no_name_is_a_question_naming_both()
    {
        LocalDecision d = _home.Decide("turn on the light", "living_room");
        Assert.Equal(DecisionKind.Reply, d.Kind);
        Assert.True(d.IsQuestion);
        Assert.Equal("Which light, the ceiling or the lamp?", d.Reply);
    }

    [Fact]
    public void No_room_and_lights_in_several_rooms_is_a_question_about_the_room()
    {
        LocalDecision d = _home.Decide("turn on the light", "");
        Assert.True(d.IsQuestion);
        Assert.StartsWith("Which room, the ", d.Reply);
        Assert.Contains("the kitchen", d.Reply);
        Assert.Contains(" or the ", d.Reply);
    }

    [Fact]
    public void An_unknown_device_gets_a_clear_answer()
    {
        LocalDecision d = _home.Decide("turn on the jacuzzi", "kitchen");
        Assert.Equal(DecisionKind.Reply, d.Kind);
        Assert.False(d.IsQuestion);
        Assert.Equal("I don't know a device called jacuzzi.", d.Reply);
        Assert.Equal("There's no light in the garage.", _home.Decide("turn on the garage light", "kitchen").Reply);
    }

    [Fact]
    public void Sensor_questions_are_answered_from_the_latest_reading()
    {
        _home.Readings.Report("bedroom-sensor", new Dictionary<string, double> { ["temperature"] = 21.46, ["humidity"] = 48 });
        LocalDecision d = _home.Decide("What is the temperature in the bedroom?", "kitchen");
        Assert.Equal("query_sensor", d.Intent);
        Assert.Equal("It's 21.5 degrees in the bedroom.", d.Reply);
        Assert.Equal("It's 48 percent in the bedroom.", _home.Decide("what's the humidity in the bedroom", "").Reply);
        Assert.Equal("It's 21.5 degrees in the bedroom.", _home.Decide("how warm is it", "bedroom").Reply);
        Assert.Equal("I have no temperature reading from the office yet.", _home.Decide("how warm is it in the office", "").Reply);
        Assert.Equal("There's no temperature sensor in the hallway.", _home.Decide("what is the temperature in the hallway", "").Reply);
    }

    [Fact]
    public void State_questions_are_answered_from_the_devices_last_echo()
    {
        Assert.Equal("I don't know yet whether the kitchen light is on.", _home.Decide("is the kitchen light on", "").Reply);
        _home.Readings.Report("kitchen-light", new Dictionary<string, double> { ["on"] = 1 });
        Assert.Equal("The kitchen light is on.", _home.Decide("Is the kitchen light on?", "").Reply);
        _home.Readings.Report("living-room-lamp", new Dictionary<string, double> { ["on"] = 1 });
        _home.Readings.Report("living-room-ceiling", new Dictionary<string, double> { ["on"] = 0 });
        Assert.Equal("The living room lamp is on.", _home.Decide("is the lamp on", "living_room").Reply);
        Assert.Equal("1 of the lights in the living room are on.", _home.Decide("are the lights on", "living_room").Reply);
    }

    [Fact]
    public void Each_decision_carries_only_the_slots_of_the_pattern_that_matched()
    {
        // The matcher reuses one slot holder across the patterns it tries: nothing from a pattern that failed may leak.
        Dictionary<string, string> colour = _home.Decide("set the kitchen light to warm white", "").Slots;
        Dictionary<string, string> level = _home.Decide("set the kitchen light to 50 percent", "").Slots;
        Dictionary<string, string> timer = _home.Decide("set a timer for 5 minutes", "").Slots;
        Dictionary<string, string> plain = _home.Decide("turn on the kitchen light", "").Slots;

        Assert.Equal(("2700", false, false), (colour["kelvin"], colour.ContainsKey("number"), colour.ContainsKey("seconds")));
        Assert.Equal(("50", false, false), (level["number"], level.ContainsKey("kelvin"), level.ContainsKey("seconds")));
        Assert.Equal(("300", false, false, false), (timer["seconds"], timer.ContainsKey("number"), timer.ContainsKey("kelvin"), timer.ContainsKey("target")));
        Assert.Equal(("kitchen light", false, false, false), (plain["target"], plain.ContainsKey("number"), plain.ContainsKey("kelvin"), plain.ContainsKey("seconds")));
    }

    [Fact]
    public void Colour_temperature_is_refused_clearly_by_a_bulb_that_cannot()
    {
        // The simulated bulbs have colour temperature; a plain white bulb (no color_temp_kelvin parameter) does not.
        Contracts.Messages.DeviceRegistration plain = Tools.Simulation.SimulatedDevice.Describe("garage-light", Tools.Simulation.SimulatedKind.Bulb, "garage");
        plain.Capabilities.Capabilities.Find(c => c.Name == "light")!.Parameters.RemoveAll(p => p.Name == "color_temp_kelvin");
        Assert.True(_home.Registry.Register(plain, "sim-owner").Accepted);

        LocalDecision d = _home.Decide("set the garage light to warm white", "");
        Assert.Equal("set_colour_temperature", d.Intent);
        Assert.Equal("2700", d.Slots["kelvin"]);
        Assert.Equal("The garage light can't change its colour temperature.", d.Reply);
        Assert.Equal(DecisionKind.DeviceCommand, _home.Decide("set the kitchen light to warm white", "").Kind);
    }

    [Fact]
    public void Volume_goes_to_the_rooms_speakers()
    {
        LocalDecision d = _home.Decide("set the volume to thirty percent", "kitchen");
        Assert.Equal("set_volume", d.Intent);
        Assert.Equal(["kitchen-speaker"], Ids(d));
        Assert.Equal("0.3", d.Parameters["volume"]);
        Assert.Equal("0.1", _home.Decide("volume up", "living_room").Parameters["volume_step"]);
    }

    [Fact]
    public void Stop_time_date_and_timers()
    {
        Assert.Equal(DecisionKind.Stop, _home.Decide("Stop!", "kitchen").Kind);
        Assert.Equal(DecisionKind.Stop, _home.Decide("never mind", "kitchen").Kind);
        Assert.Equal("It's 6:05 PM.", _home.Decide("what time is it", "").Reply);
        Assert.Equal("Today is Saturday, November 28.", _home.Decide("what's the date today", "").Reply);
        LocalDecision timer = _home.Decide("set a timer for five minutes", "kitchen");
        Assert.Equal(DecisionKind.TimerSet, timer.Kind);
        Assert.Equal(300, timer.TimerSeconds);
        Assert.Equal("Timer set for 5 minutes.", timer.Reply);
        Assert.Equal(90, _home.Decide("set a timer for 1 minute and 30 seconds", "").TimerSeconds);
        Assert.Equal(DecisionKind.TimerCancel, _home.Decide("cancel the timer", "").Kind);
    }

    [Theory]
    [InlineData("what is the capital of France")]
    [InlineData("make it cosy in the living room")]
    [InlineData("tell me a joke")]
    [InlineData("and the bedroom too?")]
    [InlineData("thank you")]
    [InlineData("")]
    public void What_no_pattern_matches_goes_to_the_llm(string text) =>
        Assert.Equal(DecisionKind.NoMatch, _home.Decide(text, "kitchen").Kind);

    [Fact]
    public void Numbers_said_as_words_become_digits()
    {
        Assert.Equal(["set", "timer", "for", "125", "seconds"], _home.Engine.Normalize("Set a timer for one hundred and twenty five seconds"));
        Assert.Equal(["set", "kitchen", "light", "to", "50", "percent"], _home.Engine.Normalize("Set the kitchen light to 50%"));
        Assert.Equal(["what", "is", "temperature"], _home.Engine.Normalize("What's the temperature?"));
    }

    [Fact]
    public void Another_language_is_another_grammar_file()
    {
        // The grammar is data: a file of one's own replaces the embedded one with no code change.
        using var dir = new TempDirectory("alicia-grammar");
        Grammar english = Grammar.Load("en");
        english.Language = "xx";
        english.Intents = [new GrammarIntent { Name = "turn_on", Capabilities = ["light"], Patterns = ["allume {target}"] }];
        english.Nouns[0].Words.Add("lumiere");
        english.Articles.Add("la");
        english.Replies["on"] = "{device}: allumee.";
        string path = Path.Combine(dir.Path, "xx.json");
        File.WriteAllText(path, System.Text.Json.JsonSerializer.Serialize(english, GrammarJson.Default.Grammar));
        var engine = new LocalIntentEngine(Grammar.Load("xx", path), _home.Registry, _home.Readings, _home.Clock);
        LocalDecision d = engine.Decide("allume la lumiere", "kitchen");
        Assert.Equal(DecisionKind.DeviceCommand, d.Kind);
        Assert.Equal(["kitchen-light"], Ids(d));
        Assert.Equal(DecisionKind.NoMatch, engine.Decide("turn on the kitchen light", "kitchen").Kind);
    }
}
