using Alicia.Host.Configuration;

namespace Alicia.Host.Commands;

/// <summary>The <c>alicia</c> command line: a small hand-written dispatcher (AOT-safe, no reflection).</summary>
internal static class Cli
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;

    public const string HelpText = """
        alicia - the Alicia voice-assistant message bus

        Usage:
          alicia run [options]              Start the engine with its embedded MQTT 5 broker (or --broker URL)
          alicia keys new <name> [--keys D] Create an Ed25519 signing key; prints the public key
          alicia keys list [--keys D]       List the keys (trusted public keys) in the key directory
          alicia ping [options]             Send a signed ping to a running engine and wait for its signed reply
          alicia devices list|show <id>|remove <id>|lookup <capability> [--in PLACE]
                                            The device registry of a running engine
          alicia simulate --devices N [--heartbeat S] [--duration S] [--keep]
                                            N simulated sensors, bulbs, switches and speakers
          alicia voice send <file.wav> [options]
                                            Stream a WAV file to a running engine; prints the transcript and stage timings
          alicia models list | pull <name>  Models of the manifest; pull downloads and checks the SHA-256
          alicia models random <file> [--size micro|tiny]
                                            A random-weight Whisper model for smoke tests (meaningless transcripts)
          alicia ca init [--host NAME]... [--force] | ca show
                                            Local certificate authority (ECDSA P-256) in <DataDirectory>/ca
          alicia device provision <id> --type speaker|sensor|actuator|controller|service [--role R]... [--password-from-env VAR] [--out DIR]
          alicia device revoke <id> [--reason TEXT] | device renew <id> [--overlap 24h] | device list
          alicia broker config mosquitto [--out DIR] [--port 8883] [--plain-port 1883] [--no-anonymous] [--user NAME]
          alicia audit tail [-n N]          The last N security decisions of the audit log
          alicia audit verify               Check the audit log's hash chain; names the first broken link
          alicia --help | help              This text
          alicia --version                  The version

        Options (run, ping):
          --config FILE         JSON configuration (default: ./alicia.json when present)
          --port N              Embedded broker TCP port (default 1883; 0 picks a free one)
          --listen ADDRESS      Embedded broker bind address (default 127.0.0.1)
          --no-tcp              Embedded broker without TCP (in-process clients only)
          --broker URL          Use an external MQTT 5 broker: mqtt://host:port or mqtts://host:port
          --keys DIR            Key directory (default .alicia/keys); its public keys are trusted
          --name NAME           The engine's identity (default alicia-engine)
          --Section:Key=VALUE   Any configuration key, e.g. --Security:MaxClockSkew=00:00:10

        Options (ping):
          --as NAME             Identity to sign with (default alicia-cli; created if missing)
          --to NAME             Engine to ask (default alicia-engine)
          --timeout SECONDS     How long to wait (default 5)
          --json                Send the request as JSON instead of MessagePack

        Environment: ALICIA_<Key> with __ for ':' (ALICIA_Broker__Port=1884).
        Exit codes: 0 ok, 1 failure, 2 usage or configuration error.
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
        {
            stdout.WriteLine(HelpText);
            return args.Length == 0 ? Usage : Ok;
        }
        if (args[0] is "--version" or "version")
        {
            stdout.WriteLine($"alicia {typeof(Cli).Assembly.GetName().Version?.ToString(3) ?? "0.0.0"}");
            return Ok;
        }
        if (args.Contains("--help") || args.Contains("-h"))
        {
            stdout.WriteLine(HelpText);
            return Ok;
        }

        try
        {
            return args[0] switch
            {
                "run" => await RunCommand.ExecuteAsync(args[1..], stdout, stderr).ConfigureAwait(false),
                "keys" => KeysCommand.Execute(args[1..], stdout, stderr),
                "ping" => await PingCommand.ExecuteAsync(args[1..], stdout, stderr).ConfigureAwait(false),
                "audit" => AuditCommand.Execute(args[1..], stdout, stderr),
                "voice" => await VoiceCommand.ExecuteAsync(args[1..], stdout, stderr).ConfigureAwait(false),
                "models" => await ModelsCommand.ExecuteAsync(args[1..], stdout, stderr).ConfigureAwait(false),
                "ca" => CaCommand.Execute(args[1..], stdout, stderr),
                "device" => DeviceIdentityCommand.Execute(args[1..], stdout, stderr),
                "broker" => BrokerCommand.Execute(args[1..], stdout, stderr),
                "devices" => await DevicesCommand.ExecuteAsync(args[1..], stdout, stderr).ConfigureAwait(false),
                "simulate" => await SimulateCommand.ExecuteAsync(args[1..], stdout, stderr).ConfigureAwait(false),
                _ => UnknownCommand(args[0], stderr),
            };
        }
        catch (ConfigurationError e)
        {
            stderr.WriteLine($"alicia: configuration error: {e.Message}");
            return Usage;
        }
    }

    private static int UnknownCommand(string command, TextWriter stderr)
    {
        stderr.WriteLine($"alicia: unknown command '{command}'. Run 'alicia --help' for the list of commands.");
        return Usage;
    }

    /// <summary>Takes <c>--name value</c> / <c>--name=value</c> out of <paramref name="tokens"/>.</summary>
    public static string? TakeOption(List<string> tokens, string name)
    {
        for (int i = 0; i < tokens.Count; i++)
        {
            if (tokens[i] == name)
            {
                if (i + 1 >= tokens.Count) throw new ConfigurationError($"{name} needs a value");
                string value = tokens[i + 1];
                tokens.RemoveRange(i, 2);
                return value;
            }
            if (tokens[i].StartsWith(name + "=", StringComparison.Ordinal))
            {
                string value = tokens[i][(name.Length + 1)..];
                tokens.RemoveAt(i);
                return value;
            }
        }
        return null;
    }

    public static bool TakeFlag(List<string> tokens, string name) => tokens.Remove(name);

    /// <summary>Takes a positive number of seconds (<c>--timeout 5</c>), or the default.</summary>
    public static double TakeSeconds(List<string> tokens, string name, double defaultSeconds)
    {
        string? text = TakeOption(tokens, name);
        if (text is null) return defaultSeconds;
        if (!double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double seconds) || seconds <= 0)
            throw new ConfigurationError($"{name}: '{text}' is not a positive number of seconds");
        return seconds;
    }
}
