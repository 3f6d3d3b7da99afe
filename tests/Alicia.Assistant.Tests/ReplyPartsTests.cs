using Alicia.Assistant.Actions;
using Alicia.Assistant.Llm;
using Alicia.Assistant.Replies;
using Microsoft.Extensions.Time.Testing;

namespace Alicia.Assistant.Tests;

/// <summary>The small parts of a reply: sentence cutting of a stream, the bounded memory, what an echo must show.</summary>
public sealed class ReplyPartsTests
{
    [Fact]
    public void Streamed_text_is_cut_into_sentences_as_they_complete_and_decimals_do_not_cut()
    {
        var splitter = new SentenceSplitter();
        Assert.Empty(splitter.Append("It is 21.5 deg"));
        Assert.Equal(["It is 21.5 degrees."], splitter.Append("rees. Shall I"));
        Assert.Equal(["Shall I open the window?", "Done!"], splitter.Append(" open the window? Done! Bye"));
        Assert.Equal("Bye", splitter.Flush());
        Assert.Equal("", splitter.Flush());
    }

    [Fact]
    public void Memory_is_bounded_per_conversation_and_in_conversations_and_forgets_after_silence()
    {
        var clock = new FakeTimeProvider();
        var memory = new ConversationMemory(turns: 4, conversations: 2, clock, TimeSpan.FromMinutes(10));
        for (int i = 0; i < 5; i++) memory.Remember("room:kitchen", $"q{i}", $"a{i}");
        Assert.Equal(["q3", "a3", "q4", "a4"], memory.Recall("room:kitchen").Select(m => m.Text));

        clock.Advance(TimeSpan.FromSeconds(1));
        memory.Remember("room:bedroom", "q", "a");
        clock.Advance(TimeSpan.FromSeconds(1));
        memory.Remember("session:x", "q", "a"); // a third conversation: the least recently used (kitchen) goes
        Assert.Equal(2, memory.Count);
        Assert.Empty(memory.Recall("room:kitchen"));

        clock.Advance(TimeSpan.FromMinutes(11));
        Assert.Empty(memory.Recall("room:bedroom"));
        Assert.Equal("room:kitchen", ConversationMemory.KeyOf("kitchen", "s1"));
        Assert.Equal("session:s1", ConversationMemory.KeyOf("", "s1"));
    }

    [Fact]
    public void An_echo_confirms_only_with_the_commanded_values()
    {
        var cache = new DeviceStateCache();
        using EchoWaiter on = cache.Expect("bulb", DeviceCommander.Expected("turn_on", new Dictionary<string, string> { ["brightness"] = "128" }));
        cache.Report("bulb", new Dictionary<string, double> { ["on"] = 0 });
        Assert.False(on.Completion.Task.IsCompleted);
        cache.Report("bulb", new Dictionary<string, double> { ["on"] = 1, ["brightness"] = 40 });
        Assert.False(on.Completion.Task.IsCompleted);
        cache.Report("bulb", new Dictionary<string, double> { ["on"] = 1, ["brightness"] = 128 });
        Assert.True(on.Completion.Task.IsCompletedSuccessfully);
        Assert.True(cache.TryGet("bulb", "brightness", out double b) && b == 128);
    }

    [Fact]
    public void A_volume_or_colour_temperature_echo_confirms_only_at_the_commanded_level()
    {
        var cache = new DeviceStateCache();
        using EchoWaiter volume = cache.Expect("speaker", DeviceCommander.Expected("set_volume", new Dictionary<string, string> { ["volume"] = "0.3" }));
        cache.Report("speaker", new Dictionary<string, double> { ["on"] = 0, ["volume"] = 0.8 });
        Assert.False(volume.Completion.Task.IsCompleted); // an echo, but of another level
        cache.Report("speaker", new Dictionary<string, double> { ["on"] = 0, ["volume"] = 0.3 });
        Assert.True(volume.Completion.Task.IsCompletedSuccessfully);

        using EchoWaiter white = cache.Expect("bulb", DeviceCommander.Expected("turn_on", new Dictionary<string, string> { ["color_temp_kelvin"] = "2700" }));
        cache.Report("bulb", new Dictionary<string, double> { ["on"] = 1, ["color_temp_kelvin"] = 4000 });
        Assert.False(white.Completion.Task.IsCompleted);
        cache.Report("bulb", new Dictionary<string, double> { ["on"] = 1, ["color_temp_kelvin"] = 2703 }); // 370 mireds back to kelvin
        Assert.True(white.Completion.Task.IsCompletedSuccessfully);
    }
}
