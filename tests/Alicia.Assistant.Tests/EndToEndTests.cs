using System.Globalization;
using Alicia.Contracts.Messages;
using Alicia.Tools.Simulation;

namespace Alicia.Assistant.Tests;

/// <summary>
/// From a transcript or a text request to a switched device and a reply, with the real embedded broker, registry and
/// simulated devices (their own MQTT connections, signed commands, echoed state) and a fake Grok server on 127.0.0.1.
/// </summary>
public sealed class EndToEndTests : IAsyncLifetime
{
    private AssistantHarness _h = null!;

    public async Task InitializeAsync() => _h = await AssistantHarness.StartAsync();

    public Task DisposeAsync() => _h.DisposeAsync().AsTask();

    [Fact]
    public async Task Turn_on_the_kitchen_light_from_the_kitchen_satellite_switches_it_and_the_echo_confirms()
    {
        await _h.HomeAsync("kitchen-light", "kitchen-satellite", "living-room-ceiling", "living-room-lamp");
        SimulatedDevice light = _h.Devices["kitchen-light"];
        Assert.Equal("false", light.State["on"]);

        Conversation c = await _h.TranscriptAsync("kitchen-satellite", "Turn on the kitchen light");

        Assert.Equal("true", light.State["on"]);
        Assert.Equal("The kitchen light is on.", c.Text);
        AiResponse reply = Assert.Single(c.Pieces);
        Assert.True(reply.IsFinal);
        Assert.True(reply.IsFixedPhrase);
        Assert.Equal(ReplySource.LocalIntent, reply.Source);
        Assert.Equal("kitchen-satellite", reply.DeviceId);
        Assert.Equal("kitchen", reply.Room);
        Assert.Equal(12.5, reply.Timings["stt_ms"]); // the session's timings carried on
        Assert.True(reply.Timings.ContainsKey("echo_confirmed_ms"));

        VoiceCommandRoute route = c.Route;
        Assert.Equal(("turn_on", "light", "kitchen", "confirmed", "local_intent"), (route.Intent, route.Capability, route.Location, route.Outcome, route.Source));
        Assert.Equal("kitchen-light", route.DeviceId);
        Assert.Equal("confirmed", route.DeviceOutcomes["kitchen-light"]);
        Assert.Equal(reply.ReplyId, route.ReplyId);

        // "the light" from the kitchen satellite means the kitchen's; off is confirmed the same way.
        c = await _h.TranscriptAsync("kitchen-satellite", "switch off the light");
        Assert.Equal("false", light.State["on"]);
        Assert.Equal("The kitchen light is off.", c.Text);
        Assert.Equal("false", _h.Devices["living-room-lamp"].State["on"]);
    }

    [Fact]
    public async Task Levels_and_all_the_lights_in_a_room_are_confirmed_by_every_device()
    {
        await _h.HomeAsync("living-room-ceiling", "living-room-lamp", "living-room-satellite");
        Conversation c = await _h.SayAsync("set all the lights in the living room to forty percent");
        Assert.Equal("The lights in the living room are at 40 percent.", c.Text);
        Assert.Equal("102", _h.Devices["living-room-ceiling"].State["brightness"]);
        Assert.Equal("102", _h.Devices["living-room-lamp"].State["brightness"]);
        Assert.Equal(["confirmed", "confirmed"], c.Route.DeviceOutcomes.Values);

        c = await _h.TranscriptAsync("living-room-satellite", "turn on the light");
        Assert.Equal("Which light, the ceiling or the lamp?", c.Text);
        Assert.Equal("question", c.Route.Outcome);
    }

    [Fact]
    public async Task What_is_the_temperature_in_the_bedroom_is_answered_from_the_simulated_sensor()
    {
        Task<double> reading = _h.ReadingAsync("bedroom-sensor", "temperature");
        await _h.HomeAsync("bedroom-sensor", "kitchen-satellite");
        double value = await reading;

        Conversation c = await _h.TranscriptAsync("kitchen-satellite", "What is the temperature in the bedroom?");

        string expected = Math.Round(value, 1).ToString("0.#", CultureInfo.InvariantCulture);
        Assert.Equal($"It's {expected} degrees in the bedroom.", c.Text);
        Assert.Equal(("query_sensor", "bedroom", "answered"), (c.Route.Intent, c.Route.Location, c.Route.Outcome));
        Assert.Equal(["bedroom-sensor"], c.Route.DeviceIds);
    }

    [Fact]
    public async Task An_open_question_streams_the_answer_from_the_grok_protocol_server_sentence_by_sentence()
    {
        await _h.HomeAsync("kitchen-light", "kitchen-satellite");
        _h.Grok.Then(FakeGrokReply.Text("Paris is the capital", " of France. It is known", " for the Eiffel Tower. ", "Anything else?"));

        Conversation c = await _h.TranscriptAsync("kitchen-satellite", "what is the capital of France");

        Assert.Equal(["Paris is the capital of France.", "It is known for the Eiffel Tower.", "Anything else?"], c.Pieces.Select(p => p.Text).Where(t => t.Length > 0));
        Assert.Equal(Enumerable.Range(0, c.Pieces.Count), c.Pieces.Select(p => p.Sequence));
        Assert.All(c.Pieces, p => Assert.Equal(ReplySource.Llm, p.Source));
        Assert.True(c.Pieces[^1].IsFinal);
        Assert.Single(c.Pieces, p => p.IsFinal);
        Assert.Equal(("llm", "llm"), (c.Route.Source, c.Route.Fallback));
        Assert.True(c.Pieces[^1].Timings.ContainsKey("llm_first_byte_ms"));

        string request = Assert.Single(_h.Grok.Requests);
        Assert.Contains("\"stream\":true", request);
        Assert.Contains("what is the capital of France", request);
        Assert.Contains("kitchen-light", request); // the home in the prompt
        Assert.Contains("switch_device", request); // and as tools
        Assert.Equal("Bearer test-key", Assert.Single(_h.Grok.Authorizations));
    }

    [Fact]
    public async Task A_tool_call_from_the_model_dims_a_device_through_the_confirmed_command_path()
    {
        await _h.HomeAsync("living-room-lamp", "living-room-ceiling", "living-room-satellite");
        _h.Grok.Then(FakeGrokReply.Tools(new FakeToolCall("set_level", """{"device":"living-room-lamp","percent":30}""")))
            .Then(FakeGrokReply.Text("I dimmed the lamp. ", "Enjoy your evening."));

        Conversation c = await _h.TranscriptAsync("living-room-satellite", "make it cosy in the living room");

        Assert.Equal("77", _h.Devices["living-room-lamp"].State["brightness"]);
        Assert.Equal("true", _h.Devices["living-room-lamp"].State["on"]);
        VoiceCommandRoute tool = Assert.Single(c.Routes, r => r.Source == "llm_tool");
        Assert.Equal(("tool:set_level", "confirmed", "living-room-lamp"), (tool.Intent, tool.Outcome, tool.DeviceId));
        Assert.Equal("I dimmed the lamp. Enjoy your evening.", c.Text);
        string[] requests = [.. _h.Grok.Requests];
        Assert.Equal(2, requests.Length);
        Assert.Contains("\"confirmed\":true", ToolResult(requests[1])); // the tool result went back to the model
    }

    /// <summary>The content of the tool message in a request to the model.</summary>
    private static string ToolResult(string request)
    {
        using var json = System.Text.Json.JsonDocument.Parse(request);
        return json.RootElement.GetProperty("messages").EnumerateArray().Single(m => m.GetProperty("role").GetString() == "tool").GetProperty("content").ToString();
    }

    [Fact]
    public async Task A_tool_call_for_a_missing_device_gets_an_error_result_and_the_model_explains()
    {
        await _h.HomeAsync("kitchen-light", "kitchen-satellite");
        _h.Grok.Then(FakeGrokReply.Tools(new FakeToolCall("switch_device", """{"device":"garden-fountain","on":true}""")))
            .Then(FakeGrokReply.Text("Sorry, I couldn't find a garden fountain."));

        Conversation c = await _h.TranscriptAsync("kitchen-satellite", "start the garden fountain");

        VoiceCommandRoute tool = Assert.Single(c.Routes, r => r.Source == "llm_tool");
        Assert.Equal("tool_error", tool.Outcome);
        Assert.Contains("no device 'garden-fountain'", tool.Parameters["error"]);
        string[] requests = [.. _h.Grok.Requests];
        Assert.Contains("\"ok\":false", ToolResult(requests[1]));
        Assert.Contains("no device 'garden-fountain' is registered", ToolResult(requests[1]));
        Assert.Equal("Sorry, I couldn't find a garden fountain.", c.Text);
        Assert.Equal("false", _h.Devices["kitchen-light"].State["on"]);
    }

    [Fact]
    public async Task The_conversation_memory_carries_the_last_turn_to_the_model()
    {
        await _h.HomeAsync("kitchen-light", "kitchen-satellite");
        await _h.TranscriptAsync("kitchen-satellite", "turn on the kitchen light");
        _h.Grok.Then(FakeGrokReply.Text("The bedroom has no light I can reach."));

        await _h.TranscriptAsync("kitchen-satellite", "and the bedroom too?");

        string request = Assert.Single(_h.Grok.Requests);
        Assert.Contains("turn on the kitchen light", request);
        Assert.Contains("The kitchen light is on.", request);
        Assert.Contains("and the bedroom too?", request);
    }

    [Theory]
    [InlineData(FakeGrokMode.Garbled)]
    [InlineData(FakeGrokMode.Truncated)]
    [InlineData(FakeGrokMode.ServerError)]
    [InlineData(FakeGrokMode.Slow)]
    public async Task A_garbled_failing_or_slow_service_gets_the_spoken_fallback_reply(FakeGrokMode mode)
    {
        await _h.HomeAsync("kitchen-satellite");
        _h.Grok.Then(FakeGrokReply.Failing(mode));

        Conversation c = await _h.TranscriptAsync("kitchen-satellite", "tell me a joke");

        Assert.Equal(ReplySource.Fallback, c.Pieces[^1].Source);
        Assert.True(c.Pieces[^1].IsFinal);
        // The truncated stream had begun a sentence it never finished: the reply ends with an apology, not half a word.
        Assert.Equal(mode == FakeGrokMode.Truncated && c.Pieces.Count > 1 ? "Sorry, I lost my connection to the assistant service." : "I can't reach my assistant service right now, but I can still control your devices.", c.Pieces[^1].Text);
        Assert.Equal(("fallback", "fallback_reply"), (c.Route.Outcome, c.Route.Fallback));
        Assert.True(c.Pieces[^1].Timings.ContainsKey("fallback_ms"));
    }

    [Fact]
    public async Task With_the_server_down_the_fallback_comes_and_local_intents_still_work()
    {
        await _h.HomeAsync("kitchen-light", "kitchen-satellite");
        _h.Grok.StopListening();

        Conversation c = await _h.TranscriptAsync("kitchen-satellite", "what is the meaning of life");
        Assert.Equal("I can't reach my assistant service right now, but I can still control your devices.", c.Text);
        Assert.True(c.Pieces[^1].IsFixedPhrase);
        Assert.Contains("Connection refused", c.Route.Parameters["reason"]);

        c = await _h.TranscriptAsync("kitchen-satellite", "turn on the kitchen light");
        Assert.Equal("The kitchen light is on.", c.Text);
        Assert.Equal("confirmed", c.Route.Outcome);
    }

    [Fact]
    public async Task Unknown_devices_ambiguous_rooms_and_an_empty_transcript_each_get_a_clear_reply()
    {
        await _h.HomeAsync("kitchen-light", "bedroom-sensor", "living-room-lamp", "kitchen-satellite");

        Conversation c = await _h.TranscriptAsync("kitchen-satellite", "turn on the jacuzzi");
        Assert.Equal("I don't know a device called jacuzzi.", c.Text);
        Assert.Equal("unknown_device", c.Route.Outcome);

        c = await _h.SayAsync("turn on the light");
        Assert.StartsWith("Which room, the ", c.Text);
        Assert.Contains("the kitchen", c.Text);
        Assert.Contains("the living room", c.Text);
        Assert.Equal("question", c.Route.Outcome);

        c = await _h.TranscriptAsync("kitchen-satellite", "");
        Assert.Equal("Sorry, I didn't catch that.", c.Text);
        Assert.Equal("empty", c.Route.Outcome);
        Assert.Equal(0, _h.Grok.Calls);
        Assert.Equal("false", _h.Devices["kitchen-light"].State["on"]);
    }

    [Fact]
    public async Task A_device_that_never_echoes_gets_a_reply_naming_the_failure()
    {
        await _h.HomeAsync("kitchen-satellite");
        await _h.MuteDeviceAsync("hallway-light", SimulatedKind.Bulb, "hallway");

        Conversation c = await _h.SayAsync("turn on the hallway light", room: "kitchen");

        Assert.Equal("The hallway light didn't confirm the command.", c.Text);
        Assert.Equal(("failed", "no_echo"), (c.Route.Outcome, c.Route.DeviceOutcomes["hallway-light"]));
    }

    [Fact]
    public async Task An_announcement_not_confirmed_by_one_speaker_is_retried_once_on_another_in_the_room()
    {
        await _h.HomeAsync("kitchen-speaker", "kitchen-satellite");
        await _h.MuteDeviceAsync("kitchen-speaker-0", SimulatedKind.Speaker, "kitchen");
        _h.Grok.Then(FakeGrokReply.Tools(new FakeToolCall("announce", """{"text":"Dinner is ready","room":"kitchen"}""")))
            .Then(FakeGrokReply.Text("I told the kitchen."));

        Conversation c = await _h.SayAsync("tell the kitchen that dinner is ready", satellite: "kitchen-satellite");

        VoiceCommandRoute tool = Assert.Single(c.Routes, r => r.Source == "llm_tool");
        Assert.Equal(("confirmed", "another_device"), (tool.Outcome, tool.Fallback));
        Assert.Equal("confirmed (retried from kitchen-speaker-0)", tool.DeviceOutcomes["kitchen-speaker"]);
        Assert.Equal("Dinner is ready", _h.Devices["kitchen-speaker"].State["last_announcement"]);
    }

    [Fact]
    public async Task Stop_is_published_as_a_route_at_once_for_speech_output()
    {
        await _h.HomeAsync("kitchen-satellite");
        Conversation c = await _h.TranscriptAsync("kitchen-satellite", "Stop.");
        Assert.Equal(2, c.Routes.Count(r => r.Intent == "stop"));
        Assert.Equal("stopped", c.Routes[0].Outcome);
        Assert.Equal("", c.Text);
        Assert.True(c.Pieces[^1].IsFinal);
    }

    [Fact]
    public async Task Without_a_key_open_questions_get_the_fallback_and_the_model_is_never_called()
    {
        await using AssistantHarness unconfigured = await AssistantHarness.StartAsync(s => s.Grok.ApiKey = "");
        Conversation c = await unconfigured.SayAsync("what is the capital of France", room: "kitchen");
        Assert.Equal("I can't reach my assistant service right now, but I can still control your devices.", c.Text);
        Assert.Equal(0, unconfigured.Grok.Calls);
    }
}
