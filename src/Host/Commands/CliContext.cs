using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security;
using Alicia.Host.Configuration;

namespace Alicia.Host.Commands;

/// <summary>One invocation of the command line: its writers, its environment, the configuration keys given, the shared options.</summary>
internal sealed class CliContext(TextWriter stdout, TextWriter stderr, IDictionary<string, string?>? environment,
    Func<string, string?> variable, IReadOnlyList<KeyValuePair<string, string?>> keys)
{
    private readonly HashSet<Command> _readsConfiguration = [];

    public TextWriter Out { get; } = stdout;
    public TextWriter Err { get; } = stderr;

    /// <summary>An environment variable (<c>--password-from-env</c>).</summary>
    public string? Variable(string name) => variable(name);

    public CommonOptions Options { get; } = new();

    /// <summary>Adds the configuration options (<c>--config</c>, <c>--keys</c>, <c>--data</c>) and, for commands that talk to the engine, its endpoint (<c>--port</c>, <c>--broker</c>).</summary>
    public Command ReadsConfiguration(Command command, bool endpoint = false)
    {
        command.Add(Options.Config);
        command.Add(Options.Keys);
        command.Add(Options.Data);
        if (endpoint)
        {
            command.Add(Options.Port);
            command.Add(Options.Broker);
        }
        _readsConfiguration.Add(command);
        return command;
    }

    public bool HasConfiguration(Command command) => _readsConfiguration.Contains(command);

    /// <summary>What the command line says about the configuration: <c>--config</c>, the options that set keys, the keys given as such.</summary>
    public ConfigurationRequest Request(ParseResult result)
    {
        var request = new ConfigurationRequest { File = result.GetValue(Options.Config), Keys = keys };
        foreach ((Option option, string key, Func<ParseResult, string?> value) in Options.Keyed)
        {
            if (result.GetResult(option) is { Implicit: false }) request.Values[key] = value(result);
        }
        return request;
    }

    public LoadedConfiguration LoadAll(ParseResult result) => ConfigurationLoader.LoadAll(Request(result), environment);

    public AliciaEngineOptions Load(ParseResult result) => LoadAll(result).Engine;
}

/// <summary>The options several commands share, each defined once.</summary>
internal sealed class CommonOptions
{
    public Option<string> Config { get; } = new("--config")
    {
        Description = "JSON configuration file (default: ./alicia.json when present); relative paths in it are relative to its folder",
        HelpName = "FILE",
    };

    public Option<string> Keys { get; } = new("--keys")
    {
        Description = "Key directory (KeyDirectory, default .alicia/keys); its public keys are trusted",
        HelpName = "DIR",
    };

    public Option<string> Data { get; } = new("--data")
    {
        Description = "Data directory (DataDirectory, default .alicia/data): registry, audit log, CA, local tool passwords",
        HelpName = "DIR",
    };

    public Option<int?> Port { get; } = new("--port")
    {
        Description = "The engine's embedded broker TCP port (Broker:Port, default 1883; for run, 0 picks a free one)",
        HelpName = "N",
        CustomParser = PortNumber("--port", "Broker:Port"),
    };

    public Option<string> Listen { get; } = new("--listen")
    {
        Description = "Embedded broker bind address (Broker:ListenAddress, default 127.0.0.1)",
        HelpName = "ADDRESS",
    };

    public Option<bool> NoTcp { get; } = new("--no-tcp") { Description = "Embedded broker without TCP: in-process clients only (Broker:ListenTcp=false)" };

    public Option<string> Broker { get; } = new("--broker")
    {
        Description = "An external MQTT 5 broker, mqtt://host:port or mqtts://host:port (BrokerUrl)",
        HelpName = "URL",
    };

    public Option<string> Name { get; } = new("--name")
    {
        Description = "The engine's identity: its signing key and MQTT client id (Name, default alicia-engine)",
        HelpName = "NAME",
    };

    public Option<string> As { get; } = Identity("--as", "Identity to sign with (created in the key directory if missing)");

    public Option<string> To { get; } = Identity("--to", "The engine to ask (default: the configured Name, alicia-engine)");

    public Option<bool> Verbose { get; } = new("--verbose") { Description = "Debug logging" };

    /// <summary>The options that set configuration keys, and the value each sets.</summary>
    public IEnumerable<(Option Option, string Key, Func<ParseResult, string?> Value)> Keyed =>
    [
        (Keys, "KeyDirectory", r => r.GetValue(Keys)),
        (Data, "DataDirectory", r => r.GetValue(Data)),
        (Port, "Broker:Port", r => r.GetValue(Port)?.ToString(CultureInfo.InvariantCulture)),
        (Listen, "Broker:ListenAddress", r => r.GetValue(Listen)),
        (NoTcp, "Broker:ListenTcp", r => r.GetValue(NoTcp) ? "false" : null),
        (Broker, "BrokerUrl", r => r.GetValue(Broker)),
        (Name, "Name", r => r.GetValue(Name)),
    ];

    /// <summary>A number of seconds (<c>--timeout 5</c>), positive and at least <paramref name="minimum"/>.</summary>
    public static Option<double> Seconds(string name, string description, double defaultSeconds, double minimum = 0) => new(name)
    {
        Description = description,
        HelpName = "SECONDS",
        DefaultValueFactory = _ => defaultSeconds,
        CustomParser = r =>
        {
            string text = r.Tokens[0].Value;
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds > 0 && seconds >= minimum) return seconds;
            r.AddError($"{name}: '{text}' is not a number of seconds{(minimum > 0 ? $" (at least {minimum.ToString(CultureInfo.InvariantCulture)})" : " (positive)")}");
            return defaultSeconds;
        },
    };

    /// <summary>An identity name (<c>--as alicia-cli</c>): 1-64 of a-z A-Z 0-9 - _ .</summary>
    public static Option<string> Identity(string name, string description)
    {
        var option = new Option<string>(name) { Description = description, HelpName = "NAME" };
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is { } value && !IdentityNames.IsValid(value))
                r.AddError($"{name}: '{value}' is not a valid identity name (1-{IdentityNames.MaxLength} of a-z A-Z 0-9 - _ .)");
        });
        return option;
    }

    /// <summary>An identity name argument (<c>alicia keys new NAME</c>).</summary>
    public static Argument<string> IdentityArgument(string name, string description, string command)
    {
        var argument = new Argument<string>(name) { Description = description };
        argument.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is { } value && !IdentityNames.IsValid(value))
                r.AddError($"'{value}' is not a valid {command} (1-{IdentityNames.MaxLength} of a-z A-Z 0-9 - _ .)");
        });
        return argument;
    }

    /// <summary>A TCP port, naming the option and the key it sets.</summary>
    public static Func<ArgumentResult, int?> PortNumber(string option, string? key = null, bool allowZero = true) => r =>
    {
        string text = r.Tokens[0].Value;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port <= 65535 && (allowZero || port > 0)) return port;
        r.AddError($"{option}{(key is null ? "" : $" ({key})")}: '{text}' is not a TCP port ({(allowZero ? 0 : 1)}-65535)");
        return null;
    };

    /// <summary>A whole number in [min, max].</summary>
    public static Func<ArgumentResult, int> Integer(string option, int min, int max, string what) => r =>
    {
        string text = r.Tokens[0].Value;
        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value >= min && value <= max) return value;
        r.AddError($"{option}: '{text}' is not {what} ({min}-{max})");
        return min;
    };

    /// <summary>One of the given words.</summary>
    public static Option<string> OneOf(string name, string description, string defaultValue, params string[] values)
    {
        var option = new Option<string>(name) { Description = description, HelpName = string.Join('|', values), DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is { } value && !values.Contains(value, StringComparer.Ordinal))
                r.AddError($"{name}: '{value}' is not {string.Join(", ", values[..^1])} or {values[^1]}");
        });
        return option;
    }
}
