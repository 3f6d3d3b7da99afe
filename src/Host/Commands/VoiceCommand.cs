using Alicia.Tools.Voice;
using System.Globalization;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security;
using Alicia.Voice;
using Alicia.Voice.Audio;
using Alicia.Host.Configuration;

namespace Alicia.Host.Commands;

/// <summary><c>alicia voice send FILE.wav</c>: a satellite's session: ask on the bus, stream the file, print the transcripts.</summary>
internal static class VoiceCommand
{
    public const string Usage = """
        alicia voice send FILE.wav [--as NAME] [--to ENGINE] [--device ID] [--kind command|dictation]
                                   [--language CODE] [--stt ENGINE] [--budget MS]
                                   [--realtime] [--websocket] [--timeout SECONDS] [--port N | --broker URL] [--keys DIR]
          Opens a voice session on the engine, streams the WAV (16-bit PCM, any rate, mono or stereo) over
          the audio endpoint it returns (TCP, or its WebSocket endpoint with --websocket, as a browser
          would), and prints each transcript with its per-stage timings. tls:// and wss:// endpoints are
          trusted by Bus:CaCertificatePath (as for mqtts://), else the local engine's own ca.pem.
          --language/--budget let the engine pick a speech-to-text engine serving that language within
          that end-of-speech-to-transcript budget; --stt names one (e.g. whisper:tiny.en).
        """;

    public static async Task<int> ExecuteAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length < 2 || args[0] != "send")
        {
            stderr.WriteLine(Usage);
            return Cli.Usage;
        }
        var tokens = args[1..].ToList();
        string identityName = Cli.TakeOption(tokens, "--as") ?? "alicia-cli";
        string? target = Cli.TakeOption(tokens, "--to");
        string device = Cli.TakeOption(tokens, "--device") ?? "";
        string kindText = Cli.TakeOption(tokens, "--kind") ?? "command";
        double seconds = Cli.TakeSeconds(tokens, "--timeout", 60);
        bool realTime = Cli.TakeFlag(tokens, "--realtime");
        string language = Cli.TakeOption(tokens, "--language") ?? "en";
        string stt = Cli.TakeOption(tokens, "--stt") ?? "";
        string? budgetText = Cli.TakeOption(tokens, "--budget");
        int budget = 0;
        if (budgetText is not null && (!int.TryParse(budgetText, NumberStyles.Integer, CultureInfo.InvariantCulture, out budget) || budget <= 0))
            throw new ConfigurationError($"--budget: '{budgetText}' is not a positive number of milliseconds");
        bool webSocket = Cli.TakeFlag(tokens, "--websocket");
        VoiceSessionKind kind = kindText switch
        {
            "command" => VoiceSessionKind.Command,
            "dictation" => VoiceSessionKind.Dictation,
            _ => throw new ConfigurationError($"--kind: '{kindText}' is not command or dictation"),
        };
        if (!IdentityNames.IsValid(identityName)) throw new ConfigurationError($"--as: '{identityName}' is not a valid identity name");
        string? file = tokens.FirstOrDefault(t => !t.StartsWith("--", StringComparison.Ordinal));
        if (file is null) throw new ConfigurationError("voice send: which WAV file?");
        tokens.Remove(file);

        WavFile wav;
        try { wav = WavFile.Read(file); }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"alicia voice: {e.Message}");
            return Cli.Failed;
        }

        AliciaEngineOptions options = ConfigurationLoader.Load(tokens);
        target ??= options.Name;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        BusClient? client = await BusClient.ConnectAsync("voice", options, identityName, TimeSpan.FromSeconds(seconds), stderr, cts.Token).ConfigureAwait(false);
        if (client is null) return Cli.Failed;
        AliciaBus bus = client.Bus;
        BrokerEndpoint endpoint = client.Endpoint;

        await using (client.ConfigureAwait(false))
        {
            stdout.WriteLine($"alicia voice: {file}: {wav.DurationSeconds:0.00} s, {wav.SampleRate} Hz, {wav.Channels} channel(s)");
            VoiceSendResult result;
            try
            {
                result = await VoiceClient.SendAsync(bus, wav.Pcm, wav.SampleRate, wav.Channels, new VoiceSendOptions
                {
                    Engine = target, DeviceId = device, Kind = kind, RealTime = realTime, WebSocket = webSocket, Timeout = TimeSpan.FromSeconds(seconds),
                    Language = language, SttEngine = stt, LatencyBudgetMs = budget,
                    CaCertificatePath = BusClient.CaCertificateOf(options), // tls:// and wss:// audio: the CA of mqtts://
                }, cts.Token).ConfigureAwait(false);
            }
            catch (System.Security.Authentication.AuthenticationException e)
            {
                // Says which CA was trusted and why the engine's certificate failed it.
                stderr.WriteLine($"alicia voice: {e.Message}");
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
            return Cli.Ok;
        }
    }
}
