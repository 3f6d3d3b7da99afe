using Alicia.Tools.Audio;
using Alicia.Tools.Voice;
using System.CommandLine;
using System.Globalization;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security;
using Alicia.Voice;
using Alicia.Voice.Audio;

namespace Alicia.Host.Commands;

/// <summary><c>alicia voice send FILE.wav</c>: a satellite's session: ask on the bus, stream the file, print the transcripts.</summary>
internal static class VoiceCommand
{
    internal static Command Create(CliContext cli)
    {
        var file = new Argument<string>("file") { Description = "A WAV file: 16-bit PCM, any sample rate, mono or stereo" };
        var device = new Option<string>("--device") { Description = "The device id the session is for", HelpName = "ID", DefaultValueFactory = _ => "" };
        var kind = CommonOptions.OneOf("--kind", "A command (default) or dictation (no speculation)", "command", "command", "dictation");
        var language = new Option<string>("--language") { Description = "The spoken language (default en); the engine picks a speech-to-text engine serving it", HelpName = "CODE", DefaultValueFactory = _ => "en" };
        var stt = new Option<string>("--stt") { Description = "A speech-to-text engine by name, e.g. whisper:tiny.en", HelpName = "ENGINE", DefaultValueFactory = _ => "" };
        var budget = new Option<int>("--budget") { Description = "End-of-speech-to-transcript budget the engine chooses within", HelpName = "MS",
            CustomParser = CommonOptions.Integer("--budget", 1, 600_000, "a positive number of milliseconds") };
        var realTime = new Option<bool>("--realtime") { Description = "Stream at the audio's own pace, as a microphone would" };
        var webSocket = new Option<bool>("--websocket") { Description = "Stream over the engine's WebSocket endpoint (ws://, wss://), as a browser does" };
        var timeout = CommonOptions.Seconds("--timeout", "How long the whole session may take", 60);
        var replyOut = new Option<string>("--reply-out") { Description = "Take the spoken reply on the same connection (full duplex) and write it to this WAV file", HelpName = "FILE" };
        // --device is the satellite's id: the sound card has its own option.
        var soundDevice = new Option<string>("--sound-device") { Description = "Play the spoken reply on this ALSA device (default: default; none: do not play)", HelpName = "NAME", DefaultValueFactory = _ => "default" };
        var send = cli.ReadsConfiguration(new Command("send", """
            Open a voice session on the running engine, stream the WAV over the audio endpoint it returns (TCP, or
            WebSocket with --websocket), and print each transcript with its per-stage timings. tls:// and wss://
            endpoints are trusted by Bus:CaCertificatePath (as for mqtts://), else the local engine's own ca.pem.
            The spoken reply comes back on the same connection and plays on the sound device (ALSA, --sound-device);
            with no sound device it is said so, and --reply-out FILE writes the reply to a WAV either way.
            """) { file }, endpoint: true);
        foreach (Option option in new Option[] { cli.Options.As, cli.Options.To, device, kind, language, stt, budget, realTime, webSocket, timeout, replyOut, soundDevice }) send.Add(option);
        send.SetAction((result, cancellationToken) => ExecuteAsync(cli, result, result.GetValue(file)!, result.GetValue(replyOut), result.GetValue(soundDevice)!, new VoiceSendOptions
        {
            DeviceId = result.GetValue(device)!,
            Kind = result.GetValue(kind) == "dictation" ? VoiceSessionKind.Dictation : VoiceSessionKind.Command,
            RealTime = result.GetValue(realTime),
            WebSocket = result.GetValue(webSocket),
            Language = result.GetValue(language)!,
            SttEngine = result.GetValue(stt)!,
            LatencyBudgetMs = result.GetValue(budget),
        }, result.GetValue(cli.Options.As) ?? Alicia.Tools.LocalTools.Cli, result.GetValue(cli.Options.To), result.GetValue(timeout), cancellationToken));
        return new Command("voice", "Voice sessions with a running engine") { send };
    }

    /// <summary>
    /// The whole command within <c>--timeout</c> (and a moment to say why): connecting, the session request, the stream and
    /// closing the bus client are all bounded, even when a step does not honour its cancellation token (a bus that is down).
    /// </summary>
    private static async Task<int> ExecuteAsync(CliContext cli, ParseResult parsed, string file, string? replyOut, string soundDevice, VoiceSendOptions send, string identityName, string? target, double seconds,
        CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task<int> run = ExecuteWithinAsync(cli, parsed, file, replyOut, soundDevice, send, identityName, target, seconds, deadline.Token);
        try
        {
            return await run.WaitAsync(TimeSpan.FromSeconds(seconds) + TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await deadline.CancelAsync().ConfigureAwait(false);
            _ = run.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default); // observed; the process is about to exit
            cli.Err.WriteLine($"alicia voice: no answer within --timeout {seconds:0.#} s. Is the engine running with the voice service, and does it trust key '{identityName}'?");
            return Cli.Failed;
        }
    }

    private static async Task<int> ExecuteWithinAsync(CliContext cli, ParseResult parsed, string file, string? replyOut, string soundDevice, VoiceSendOptions send, string identityName, string? target, double seconds,
        CancellationToken cancellationToken)
    {
        TextWriter stdout = cli.Out, stderr = cli.Err;
        WavFile wav;
        try { wav = WavFile.Read(file); }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"alicia voice: {e.Message}");
            return Cli.Failed;
        }

        AliciaEngineOptions options = cli.Load(parsed);
        target ??= options.Name;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(seconds));
        BusClient? client = await BusClient.ConnectAsync("voice", options, identityName, TimeSpan.FromSeconds(seconds), stderr, cts.Token).ConfigureAwait(false);
        if (client is null) return Cli.Failed;
        AliciaBus bus = client.Bus;
        BrokerEndpoint endpoint = client.Endpoint;

        await using (client.ConfigureAwait(false))
        {
            stdout.WriteLine($"alicia voice: {file}: {wav.DurationSeconds:0.00} s, {wav.SampleRate} Hz, {wav.Channels} channel(s)");
            using ReplySpeaker? speaker = OpenSoundDevice(soundDevice, replyOut, stderr);
            VoiceSendResult result;
            try
            {
                result = await VoiceClient.SendAsync(bus, wav.Pcm, wav.SampleRate, wav.Channels, send with
                {
                    Engine = target, Timeout = TimeSpan.FromSeconds(seconds),
                    CaCertificatePath = BusClient.CaCertificateOf(options), // tls:// and wss:// audio: the CA of mqtts://
                    ReceiveReplies = replyOut is not null || speaker is not null,
                }, cts.Token, new VoiceReplies { OnAudio = speaker is null ? null : speaker.Enqueue }).ConfigureAwait(false);
            }
            catch (System.Security.Authentication.AuthenticationException e)
            {
                // Says which CA was trusted and why the engine's certificate failed it.
                stderr.WriteLine($"alicia voice: {e.Message}");
                return Cli.Failed;
            }
            catch (BusPublishException e)
            {
                // The broker refused the session's request (its ACL, or an identity it does not know): say so, no stack trace.
                stderr.WriteLine($"alicia voice: {e.Message}{client.RefusalHint(options)}");
                return Cli.Failed;
            }
            catch (Exception e) when (e is TimeoutException or OperationCanceledException or IOException or System.Net.Sockets.SocketException or System.Net.WebSockets.WebSocketException)
            {
                string cause = e.InnerException is { } inner ? $" ({inner.GetBaseException().Message})" : ""; // a WebSocket failure's reason is inside
                stderr.WriteLine($"alicia voice: {e.Message}{cause}. Is the engine running with the voice service, and does it trust key '{identityName}'?");
                return Cli.Failed;
            }

            stdout.WriteLine($"session {result.SessionId}: {result.Utterances} utterance(s){(result.SttEngine.Length > 0 ? ", speech to text by " + result.SttEngine : "")}");
            foreach (BusMessage<SttResponse> t in result.Transcripts)
            {
                IReadOnlyDictionary<string, string> meta = t.Envelope.Metadata ?? new Dictionary<string, string>();
                Dictionary<string, double> timings = t.Data.Timings;
                string reason = meta.TryGetValue("reason", out string? r) ? $" ({r})" : "";
                stdout.WriteLine($"[{timings.GetValueOrDefault("utterance_start_s"):0.00}-{timings.GetValueOrDefault("utterance_end_s"):0.00} s] {meta.GetValueOrDefault("status", "?")}{reason}: \"{t.Data.Text}\" confidence {t.Data.Confidence:0.00}");
                stdout.WriteLine("  timings: " + string.Join(", ", timings.Where(kv => kv.Key.EndsWith("_ms", StringComparison.Ordinal) || kv.Key is "audio_ctx" or "tokens")
                    .Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key}={kv.Value:0.#}"))));
            }
            if (result.Error is not null)
            {
                stderr.WriteLine($"alicia voice: {result.Error}");
                return Cli.Failed;
            }
            if (replyOut is null && speaker is null) return Cli.Ok;
            IReadOnlyList<SpokenReply> replies = result.Replies.All;
            foreach (SpokenReply r in replies)
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"reply {r.ReplyId}: {r.Status?.ToString().ToLowerInvariant() ?? "incomplete"}, {r.DurationSeconds:0.00} s at {r.SampleRate} Hz in {r.Chunks} chunk(s): \"{r.Text}\""));
            string? missing = replies.Count == 0 ? "no reply came back on the connection (is a command router running?)"
                : !replies.Any(r => r.SampleRate > 0) ? "the reply had no audio (no voice could say it)" : null;
            if (speaker is not null) Played(speaker, soundDevice, TimeSpan.FromSeconds(seconds), stdout, stderr);
            if (replyOut is not null) return missing is null ? WriteReply(replies, replyOut, stdout) : Failed(stderr, missing);
            if (missing is not null) stderr.WriteLine($"alicia voice: {missing}");
            return Cli.Ok;
        }
    }

    private static int Failed(TextWriter stderr, string reason)
    {
        stderr.WriteLine($"alicia voice: {reason}");
        return Cli.Failed;
    }

    /// <summary>
    /// The sound device the reply plays on, or null (said why: no ALSA, no such device, or <c>none</c>). Opened (and closed)
    /// once before the session, so a missing device is reported before anything is sent.
    /// </summary>
    private static ReplySpeaker? OpenSoundDevice(string device, string? replyOut, TextWriter stderr)
    {
        if (string.Equals(device, "none", StringComparison.OrdinalIgnoreCase)) return null;
        if (AlsaPlayback.Probe(device) is not { } reason) return new ReplySpeaker(device);
        stderr.WriteLine($"alicia voice: no sound device: {reason}; " +
            (replyOut is null ? "the reply is not played (--reply-out FILE writes it to a WAV)" : $"the reply goes to {replyOut} only"));
        return null;
    }

    /// <summary>Waits for the reply to finish playing (bounded), then says what was played.</summary>
    private static void Played(ReplySpeaker speaker, string device, TimeSpan timeout, TextWriter stdout, TextWriter stderr)
    {
        bool finished = speaker.Finish(timeout);
        if (speaker.Error is { } error) stderr.WriteLine($"alicia voice: playback stopped: {error}");
        else if (!finished) stderr.WriteLine($"alicia voice: the sound device '{device}' was still playing after {timeout.TotalSeconds:0.#} s; stopped");
        else if (speaker.BytesPlayed > 0) stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"reply played on sound device '{device}' ({speaker.RepliesPlayed} reply(ies), {speaker.BytesPlayed} bytes)"));
    }

    /// <summary>The replies spoken back on the connection, one after another, into one WAV.</summary>
    private static int WriteReply(IReadOnlyList<SpokenReply> replies, string path, TextWriter stdout)
    {
        SpokenReply[] spoken = [.. replies.Where(r => r.SampleRate > 0)];
        var pcm = new MemoryStream();
        foreach (SpokenReply r in spoken) pcm.Write(r.SampleRate == spoken[0].SampleRate ? r.Pcm.ToArray() : []);
        File.WriteAllBytes(path, WavFile.Build(pcm.ToArray(), spoken[0].SampleRate, spoken[0].Channels));
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"reply written to {path} ({pcm.Length / (2.0 * spoken[0].SampleRate * spoken[0].Channels):0.00} s)"));
        return Cli.Ok;
    }
}
