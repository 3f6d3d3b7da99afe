using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Voice.Audio;
using Xunit.Abstractions;

namespace Alicia.Voice.Tests;

/// <summary>A fact that reports itself skipped, with the reason, where Debian's Chromium is not installed.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string Path = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(Path)) Skip = $"{Path} is absent (scripts/test.sh installs Debian's chromium for the browser test)";
    }
}

/// <summary>
/// A real browser as the satellite: headless Chromium opens docs/voice-websocket.html, whose microphone is a
/// WAV file (Chromium's fake capture device); the page converts it to s16le in an AudioWorklet and streams it
/// over the engine's WebSocket endpoint. The session is asked for on the bus by the test, as a web app's
/// backend would (a browser cannot sign bus messages), and the transcript is awaited on the bus.
/// </summary>
public sealed class BrowserVoiceTests(ITestOutputHelper output) : IAsyncLifetime
{
    private VoiceEngineHarness _harness = null!;
    private readonly TempDirectory _temp = new("alicia-browser");

    public async Task InitializeAsync() => _harness = await VoiceEngineHarness.StartAsync();

    public async Task DisposeAsync()
    {
        await _harness.DisposeAsync();
        _temp.Dispose();
    }

    [ChromiumFact]
    public async Task A_browser_streams_its_microphone_over_WebSocket_the_transcript_arrives_on_the_bus_and_the_reply_plays_on_the_same_socket()
    {
        await using AliciaBus backend = await _harness.ClientAsync("web-backend");
        var transcript = new TaskCompletionSource<BusMessage<SttResponse>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var closed = new TaskCompletionSource<VoiceSessionStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        string sessionId = "";
        await using IAsyncDisposable sttSub = await backend.SubscribeAsync<SttResponse>((m, _) =>
        {
            if (m.Data.SessionId != Volatile.Read(ref sessionId)) return default;
            transcript.TrySetResult(m);
            // Standing in for the command router (another component): the confirmation, spoken back to the browser.
            return new ValueTask(backend.PublishAsync(new AiResponse
            {
                SessionId = m.Data.SessionId, DeviceId = m.Data.DeviceId, ReplyId = "browser-reply", Text = "The kitchen light is on.", IsFinal = true, IsFixedPhrase = true,
            }));
        });
        await using IAsyncDisposable statusSub = await backend.SubscribeAsync<VoiceSessionStatus>((m, _) =>
        {
            if (m.Data.SessionId == Volatile.Read(ref sessionId) && m.Data.State is VoiceSessionState.Closed or VoiceSessionState.Failed) closed.TrySetResult(m.Data);
            return default;
        });
        VoiceSessionResponse session = (await backend.RequestAsync<VoiceSessionRequest, VoiceSessionResponse>(
            new VoiceSessionRequest { DeviceId = "browser", SampleRate = 16000, Channels = 1 }, "alicia-engine", timeout: VoiceEngineHarness.Wait)).Data;
        Assert.True(session.Accepted, session.Error);
        Volatile.Write(ref sessionId, session.SessionId);

        // The fake microphone: silence, a command, silence; played once.
        string wav = _temp.Sub("microphone.wav");
        File.WriteAllBytes(wav, WavFile.Build(TestAudio.ToPcm(TestAudio.Concat(TestAudio.Silence(0.5), TestAudio.Speech("turn on the kitchen light").ToMono16k(), TestAudio.Silence(1.5))), 16000));
        string page = new Uri(System.IO.Path.Combine(TestAudio.RepoRoot, "docs", "voice-websocket.html")).AbsoluteUri
            + $"?url={Uri.EscapeDataString(session.WebSocketEndpoint)}&token={Uri.EscapeDataString(session.Token)}&rate=16000&autostart=1&stop=5";

        await using ChildProcess browser = StartChromium(page, wav);
        string PageLog() => string.Join('\n', browser.StandardError.Split('\n').Where(l => l.Contains("alicia-voice", StringComparison.Ordinal)));
        BusMessage<SttResponse> result;
        VoiceSessionStatus status;
        try
        {
            result = await transcript.Task.WaitAsync(VoiceEngineHarness.Wait);
            status = await closed.Task.WaitAsync(VoiceEngineHarness.Wait);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException("no transcript or end of session from the browser; the page logged:\n" + PageLog());
        }
        string replyEnd = await browser.WaitForLineAsync(l => l.Contains("reply-end:", StringComparison.Ordinal), VoiceEngineHarness.Wait);
        output.WriteLine(PageLog());
        output.WriteLine($"'{result.Data.Text}' {string.Join(", ", result.Data.Timings.Select(t => $"{t.Key}={t.Value:0.#}"))}");

        Assert.Equal(VoiceSessionState.Closed, status.State); // the page sent END and the stream ended well
        Assert.Equal("browser", result.Envelope.Metadata!["device_id"]);
        Assert.Equal("ok", result.Envelope.Metadata["status"]);
        // The command is ~1.3 s of speech: the browser's capture, resampling and framing kept it whole.
        Assert.InRange(result.Data.Timings["speech_ms"], 800, 2500);
        Assert.Equal(1, status.Utterances);
        // The page played the reply's chunks as they came: espeak-ng's ~1.5 s confirmation, whole.
        var played = System.Text.RegularExpressions.Regex.Match(replyEnd, "reply-end: spoken, ([0-9.]+) s of audio played in ([0-9]+) chunks: \"The kitchen light is on.\"");
        Assert.True(played.Success, replyEnd);
        Assert.InRange(double.Parse(played.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 0.8, 4.0);
        Assert.True(int.Parse(played.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) > 5);
    }

    private ChildProcess StartChromium(string url, string wav) => ChildProcess.Start(ChromiumFactAttribute.Path,
    [
        // Headless as root on a closed network (no sandbox, no background connections to Google's hosts).
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--user-data-dir=" + _temp.Sub("profile"),
        // The microphone is the WAV file, granted without a prompt; audio may start without a click.
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--use-file-for-fake-audio-capture=" + wav + "%noloop",
        "--autoplay-policy=no-user-gesture-required", "--enable-logging=stderr", "--remote-debugging-port=0", url,
    ]);
}
