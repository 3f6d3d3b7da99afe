using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Voice.Audio;
using Alicia.Voice.Sonos;
using Xunit.Abstractions;

namespace Alicia.Voice.Tests.Speech;

/// <summary>
/// Speakers that play URLs: the engine serves the reply over HTTP on 127.0.0.1 and drives a FAKE Sonos (UPnP/SOAP on
/// 127.0.0.1; no real speaker exists here) that records the calls and fetches the audio; SSDP replies are parsed from
/// text (no multicast is ever sent).
/// </summary>
public sealed class SonosTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = VoiceEngineHarness.Wait;

    private static Task<VoiceEngineHarness> EngineAsync(params (string Room, FakeSonosDevice Device)[] speakers) =>
        VoiceEngineHarness.StartAsync(o => o with
        {
            Speech = o.Speech with { SonosSpeakers = [.. speakers.Select(s => (s.Room, new Uri($"http://{s.Device.Address}/")))], AnnounceVolume = 30 },
        });

    private static bool Is(SoapCall c, string action) => c.Action == action;

    [Fact]
    public async Task A_reply_without_a_satellite_connection_plays_on_the_rooms_Sonos_which_gets_its_radio_back()
    {
        await using var kitchen = new FakeSonosDevice();
        await using VoiceEngineHarness engine = await EngineAsync(("kitchen", kitchen));
        await using AliciaBus router = await engine.ClientAsync("router");

        await router.PublishAsync(new AiResponse { SessionId = "s1", ReplyId = "r1", DeviceId = "kitchen-button", Room = "kitchen", Text = "The kitchen light is on.", IsFinal = true, IsFixedPhrase = true });

        SoapCall set = await kitchen.WaitForCallAsync(c => Is(c, "SetAVTransportURI") && c.Arguments["CurrentURI"].StartsWith("http://", StringComparison.Ordinal), Wait);
        await kitchen.WaitForCallAsync(c => Is(c, "Play"), Wait);
        // Afterwards the radio comes back, playing, at its own volume.
        await kitchen.WaitForCallAsync(c => Is(c, "SetAVTransportURI") && c.Arguments["CurrentURI"] == FakeSonosDevice.RadioUri, Wait);
        await kitchen.WaitForCallAsync(c => Is(c, "SetVolume") && c.Arguments["DesiredVolume"] == FakeSonosDevice.InitialVolume.ToString(System.Globalization.CultureInfo.InvariantCulture), Wait);
        SoapCall[] calls = [.. kitchen.Calls];
        output.WriteLine(string.Join(", ", calls.Select(c => c.Action)));

        Assert.StartsWith("http://127.0.0.1:", set.Arguments["CurrentURI"]);
        Assert.Equal(["GetMediaInfo", "GetTransportInfo", "GetVolume", "SetVolume", "SetAVTransportURI", "Play"], calls.Take(6).Select(c => c.Action));
        Assert.Equal("30", calls[3].Arguments["DesiredVolume"]);
        Assert.Equal(FakeSonosDevice.RadioMetadata, calls.Last(c => Is(c, "SetAVTransportURI")).Arguments["CurrentURIMetaData"]);
        await kitchen.WaitForFetchesAsync(1, Wait);
        (string url, byte[] wav) = Assert.Single(kitchen.Fetched);
        Assert.Equal(set.Arguments["CurrentURI"], url);
        WavFile clip = WavFile.Parse(wav);
        Assert.Equal(22050, clip.SampleRate);
        double speech = TestAudio.Segments(TestAudio.Concat(TestAudio.Silence(0.3), clip.ToMono16k(), TestAudio.Silence(0.5))).Sum(s => s.End - s.Start);
        Assert.InRange(speech, 0.8, 3.0);
        await kitchen.WaitForCallAsync(c => Is(c, "Play") && kitchen.TransportState == "PLAYING" && kitchen.CurrentUri == FakeSonosDevice.RadioUri, Wait);
    }

    [Fact]
    public async Task An_announcement_reaches_the_speakers_of_its_room_only_and_an_empty_room_means_everywhere()
    {
        await using var kitchen = new FakeSonosDevice();
        await using var living = new FakeSonosDevice();
        await using VoiceEngineHarness engine = await EngineAsync(("kitchen", kitchen), ("living room", living));
        await using AliciaBus admin = await engine.ClientAsync("admin");

        await admin.PublishAsync(new SpeakerAnnouncement { Text = "Dinner is ready.", Location = "kitchen" });
        await kitchen.WaitForFetchesAsync(1, Wait);
        Assert.Single(kitchen.Fetched);
        Assert.Empty(living.Calls); // the announcement started on every matching speaker at once: the living room's is not one

        await admin.PublishAsync(new SpeakerAnnouncement { Text = "Leaving in five minutes.", Location = "" });
        await living.WaitForFetchesAsync(1, Wait);
        await kitchen.WaitForFetchesAsync(2, Wait); // after the first announcement has played and the radio is back
        Assert.Single(living.Fetched);
    }

    [Fact]
    public async Task An_offline_speaker_hands_the_reply_to_another_speaker_of_the_room()
    {
        await using var unplugged = new FakeSonosDevice();
        await using var other = new FakeSonosDevice();
        unplugged.GoOffline();
        await using VoiceEngineHarness engine = await EngineAsync(("kitchen", unplugged), ("kitchen", other));
        await using AliciaBus router = await engine.ClientAsync("router");

        await router.PublishAsync(new AiResponse { ReplyId = "r2", Room = "kitchen", Text = "Done.", IsFinal = true });

        await other.WaitForFetchesAsync(1, Wait);
        Assert.Single(other.Fetched);
        Assert.Empty(unplugged.Fetched);
    }

    [Fact]
    public async Task The_speaker_fetches_the_first_sentence_before_the_last_one_is_synthesised()
    {
        await using var kitchen = new FakeSonosDevice();
        await using VoiceEngineHarness engine = await EngineAsync(("kitchen", kitchen));
        await using AliciaBus router = await engine.ClientAsync("router");
        AiResponse Piece(int sequence, string text, bool final) => new() { ReplyId = "streamed", Room = "kitchen", Sequence = sequence, Text = text, IsFinal = final };

        await router.PublishAsync(Piece(0, "The capital of France is Paris.", final: false));
        // The speaker has audio before the last sentence is even written (let alone synthesised): the reply streams.
        string url = await kitchen.FirstAudio.WaitAsync(Wait);
        Assert.Empty(kitchen.Fetched); // still fetching: the clip is open
        await router.PublishAsync(Piece(1, "It is on the Seine.", final: true));
        await kitchen.WaitForFetchesAsync(1, Wait);

        (string fetchedUrl, byte[] wav) = Assert.Single(kitchen.Fetched);
        Assert.Equal(url, fetchedUrl);
        Assert.Equal(uint.MaxValue, System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(wav.AsSpan(40))); // a growing WAV: length unknown when served
        WavFile clip = WavFile.Parse(wav);
        double speech = TestAudio.Segments(TestAudio.Concat(TestAudio.Silence(0.3), clip.ToMono16k(), TestAudio.Silence(0.5))).Sum(s => s.End - s.Start);
        output.WriteLine($"{clip.DurationSeconds:0.00} s served, {speech:0.00} s speech");
        Assert.InRange(speech, 2.0, 6.0); // both sentences (10 words), not only the first
    }

    [Fact]
    public async Task Two_replies_to_one_speaker_play_one_after_the_other_with_the_radio_back_in_between()
    {
        await using var kitchen = new FakeSonosDevice();
        await using VoiceEngineHarness engine = await EngineAsync(("kitchen", kitchen));
        await using AliciaBus router = await engine.ClientAsync("router");

        await router.PublishAsync(new AiResponse { ReplyId = "first", Room = "kitchen", Text = "The kitchen light is on.", IsFinal = true });
        await router.PublishAsync(new AiResponse { ReplyId = "second", Room = "kitchen", Text = "The oven is off.", IsFinal = true });

        await kitchen.WaitForFetchesAsync(2, Wait);
        await kitchen.WaitForCallAsync(_ => kitchen.Calls.Count >= 18, Wait);
        SoapCall[] calls = [.. kitchen.Calls];
        output.WriteLine(string.Join(", ", calls.Select(c => c.Action)));
        string[] oneReply = ["GetMediaInfo", "GetTransportInfo", "GetVolume", "SetVolume", "SetAVTransportURI", "Play", "SetAVTransportURI", "SetVolume", "Play"];
        Assert.Equal([.. oneReply, .. oneReply], calls.Select(c => c.Action));
        // Each reply's clip, then the radio; the second reply began only once the radio was back.
        Assert.Equal(FakeSonosDevice.RadioUri, calls[6].Arguments["CurrentURI"]);
        Assert.Equal(FakeSonosDevice.RadioUri, calls[15].Arguments["CurrentURI"]);
        Assert.NotEqual(calls[4].Arguments["CurrentURI"], calls[13].Arguments["CurrentURI"]);
        Assert.Equal([calls[4].Arguments["CurrentURI"], calls[13].Arguments["CurrentURI"]], kitchen.Fetched.Select(f => f.Url));
        Assert.Equal((FakeSonosDevice.RadioUri, "PLAYING", FakeSonosDevice.InitialVolume), (kitchen.CurrentUri, kitchen.TransportState, kitchen.Volume));
    }

    /// <summary>Publishes an answer of about two minutes of speech to the kitchen; the task completes with how it ended.</summary>
    private static async Task<Task<Alicia.Voice.Speech.Output.ReplyEndStatus>> PublishLongReplyAsync(VoiceEngineHarness engine, AliciaBus router)
    {
        var ended = new TaskCompletionSource<Alicia.Voice.Speech.Output.ReplyEndStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        engine.Voice.Speech!.ReplyEnded += (_, status) => ended.TrySetResult(status);
        string text = string.Join(" ", Enumerable.Repeat("This is a long answer that goes on and on.", 40));
        await router.PublishAsync(new AiResponse { ReplyId = "long", Room = "kitchen", Text = text, IsFinal = true });
        return ended.Task;
    }

    [Fact]
    public async Task Stop_in_the_room_puts_back_what_the_speaker_was_playing_at_once()
    {
        await using var kitchen = new FakeSonosDevice();
        await using VoiceEngineHarness engine = await EngineAsync(("kitchen", kitchen));
        await using AliciaBus router = await engine.ClientAsync("router");
        Task<Alicia.Voice.Speech.Output.ReplyEndStatus> ended = await PublishLongReplyAsync(engine, router);
        await kitchen.FirstAudio.WaitAsync(Wait);
        await router.PublishAsync(new VoiceCommandRoute { Intent = "stop", Location = "kitchen" });

        // Stopped while still synthesising, or (synthesis is quick) after it ended while the speaker still plays the clip.
        Assert.Contains(await ended.WaitAsync(Wait), new[] { Alicia.Voice.Speech.Output.ReplyEndStatus.Stopped, Alicia.Voice.Speech.Output.ReplyEndStatus.Spoken });
        // Played to its end, the clip would hold the radio back for two minutes, longer than this wait.
        await kitchen.WaitForCallAsync(c => Is(c, "SetAVTransportURI") && c.Arguments["CurrentURI"] == FakeSonosDevice.RadioUri, Wait);
        await kitchen.WaitForCallAsync(c => Is(c, "Play") && kitchen.CurrentUri == FakeSonosDevice.RadioUri && kitchen.TransportState == "PLAYING", Wait);
        await kitchen.WaitForFetchesAsync(1, Wait); // the served stream ended with the stop
    }

    [Fact]
    public async Task Stop_after_the_reply_was_synthesised_still_cuts_off_the_speaker_playing_it()
    {
        await using var kitchen = new FakeSonosDevice();
        await using VoiceEngineHarness engine = await EngineAsync(("kitchen", kitchen));
        await using AliciaBus router = await engine.ClientAsync("router");
        Task<Alicia.Voice.Speech.Output.ReplyEndStatus> ended = await PublishLongReplyAsync(engine, router);
        // The whole reply is synthesised (and served) long before the speaker has played it.
        Assert.Equal(Alicia.Voice.Speech.Output.ReplyEndStatus.Spoken, await ended.WaitAsync(Wait));
        Assert.NotEqual(FakeSonosDevice.RadioUri, kitchen.CurrentUri);
        await router.PublishAsync(new VoiceCommandRoute { Intent = "stop", Location = "kitchen" });

        await kitchen.WaitForCallAsync(c => Is(c, "SetAVTransportURI") && c.Arguments["CurrentURI"] == FakeSonosDevice.RadioUri, Wait);
        await kitchen.WaitForCallAsync(c => Is(c, "Play") && kitchen.CurrentUri == FakeSonosDevice.RadioUri && kitchen.TransportState == "PLAYING", Wait);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age = 1800\r\nEXT:\r\nLOCATION: http://192.168.1.20:1400/xml/device_description.xml\r\nSERVER: Linux UPnP/1.0 Sonos/70.3-35220 (ZPS1)\r\nST: urn:schemas-upnp-org:device:ZonePlayer:1\r\nUSN: uuid:RINCON_000E58A0B1C201400::urn:schemas-upnp-org:device:ZonePlayer:1\r\nX-RINCON-HOUSEHOLD: Sonos_abc\r\n\r\n", true, "192.168.1.20:1400")]
    [InlineData("HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=100\r\nEXT:\r\nLOCATION: http://192.168.1.30:80/description.xml\r\nSERVER: Linux/3.14.0 UPnP/1.0 IpBridge/1.50.0\r\nST: upnp:rootdevice\r\nUSN: uuid:2f402f80-da50-11e1-9b23-001788000000::upnp:rootdevice\r\n\r\n", false, "192.168.1.30")]
    public void SSDP_search_replies_are_parsed_and_Sonos_players_recognised(string reply, bool sonos, string address)
    {
        SsdpResponse? parsed = SsdpResponse.Parse(reply);
        Assert.NotNull(parsed);
        Assert.Equal(sonos, parsed.IsSonos);
        Assert.Equal(address, parsed.Address);
    }

    [Theory]
    [InlineData("NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\nLOCATION: http://192.168.1.20:1400/xml/device_description.xml\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:ZonePlayer:1\r\nUSN: uuid:RINCON_1\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nLOCATION: file:///etc/passwd\r\n\r\n")]
    public void What_is_not_a_search_reply_with_an_http_location_is_ignored(string datagram) => Assert.Null(SsdpResponse.Parse(datagram));
}
