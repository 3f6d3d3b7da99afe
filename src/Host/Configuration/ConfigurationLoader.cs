using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Voice;
using Microsoft.Extensions.Configuration;

namespace Alicia.Host.Configuration;

/// <summary>The configuration as read, and the options bound from it (already validated).</summary>
internal sealed record LoadedConfiguration(IConfiguration Source, AliciaEngineOptions Engine, VoiceSettings Voice);

/// <summary>A configuration problem, naming the key at fault.</summary>
internal sealed class ConfigurationError(string message) : Exception(message);

/// <summary>
/// Builds the engine's options from, in rising precedence: <c>alicia.json</c> (or <c>--config FILE</c>),
/// environment variables prefixed <c>ALICIA_</c> (<c>ALICIA_Broker__Port=1884</c>), and command-line
/// options (<c>--port 1884</c>, or any key as <c>--Broker:Port=1884</c>). Binding is source-generated
/// (AOT-safe); an unknown key, a value of the wrong type or out of range is an error naming the key.
/// </summary>
internal static class ConfigurationLoader
{
    public const string DefaultFile = "alicia.json";
    public const string EnvironmentPrefix = "ALICIA_";

    /// <summary>Friendly command-line options and the keys they set.</summary>
    public static readonly Dictionary<string, string> Switches = new(StringComparer.Ordinal)
    {
        ["--port"] = "Broker:Port",
        ["--listen"] = "Broker:ListenAddress",
        ["--no-tcp"] = "Broker:ListenTcp",
        ["--broker"] = "BrokerUrl",
        ["--keys"] = "KeyDirectory",
        ["--name"] = "Name",
    };

    /// <summary>The configuration from the file, the environment and the command line, in rising precedence.</summary>
    public static IConfiguration Build(IReadOnlyList<string> optionTokens, IDictionary<string, string?>? environment = null)
    {
        (string? configFile, List<string> tokens) = ExtractConfigFile(optionTokens);
        var builder = new ConfigurationBuilder();
        string file = configFile ?? DefaultFile;
        if (configFile is not null && !File.Exists(configFile))
            throw new ConfigurationError($"configuration file '{configFile}' does not exist");
        if (File.Exists(file))
        {
            builder.AddJsonFile(Path.GetFullPath(file), optional: false, reloadOnChange: false);
        }
        if (environment is null) builder.AddEnvironmentVariables(EnvironmentPrefix);
        else builder.AddInMemoryCollection(environment.Where(kv => kv.Key.StartsWith(EnvironmentPrefix, StringComparison.Ordinal))
            .Select(kv => new KeyValuePair<string, string?>(kv.Key[EnvironmentPrefix.Length..].Replace("__", ":", StringComparison.Ordinal), kv.Value)));
        builder.AddCommandLine(NormalizeFlags(tokens), Switches);

        IConfigurationRoot config;
        try
        {
            config = builder.Build();
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or System.Text.Json.JsonException)
        {
            throw new ConfigurationError($"cannot read configuration: {e.Message}{(e.InnerException is { } inner ? " " + inner.Message : "")}");
        }

        return config;
    }

    /// <summary>The engine's options and the sections of the capabilities (<c>Voice</c>), bound and validated.</summary>
    public static LoadedConfiguration LoadAll(IReadOnlyList<string> optionTokens, IDictionary<string, string?>? environment = null)
    {
        IConfiguration config = Build(optionTokens, environment);
        var engine = new AliciaEngineOptions();
        BindEngine(config, engine);
        var voice = new VoiceSettings();
        BindVoice(config, voice);
        List<string> failures = [.. AliciaEngineOptionsValidator.Failures(engine), .. VoiceSettingsValidator.Failures(voice)];
        if (failures.Count > 0) throw new ConfigurationError(string.Join("; ", failures));
        return new LoadedConfiguration(config, engine, voice);
    }

    public static AliciaEngineOptions Load(IReadOnlyList<string> optionTokens, IDictionary<string, string?>? environment = null) =>
        LoadAll(optionTokens, environment).Engine;

    /// <summary>The capability sections, each bound on its own: the engine's binding must not see them as unknown keys.</summary>
    private static readonly string[] CapabilitySections = ["Voice"];

    /// <summary>Binds everything but the capability sections into <paramref name="options"/>; an unknown key is an error naming it.</summary>
    public static void BindEngine(IConfiguration config, AliciaEngineOptions options)
    {
        var engineOnly = new ConfigurationBuilder().AddInMemoryCollection(config.AsEnumerable()
            .Where(kv => !CapabilitySections.Any(c => kv.Key.Equals(c, StringComparison.OrdinalIgnoreCase) || kv.Key.StartsWith(c + ":", StringComparison.OrdinalIgnoreCase)))).Build();
        try
        {
            engineOnly.Bind(options, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException e)
        {
            throw new ConfigurationError(Explain(e, engineOnly, ""));
        }
    }

    public static void BindVoice(IConfiguration config, VoiceSettings voice)
    {
        IConfigurationSection section = config.GetSection("Voice");
        try
        {
            section.Bind(voice, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException e)
        {
            throw new ConfigurationError(Explain(e, section, "Voice:"));
        }
    }

    /// <summary>
    /// The binder says which property names it did not find ("... on the instance of T: 'Nope'"); name the
    /// full keys instead (<c>Bus:Nope</c>), as the user wrote them.
    /// </summary>
    internal static string Explain(InvalidOperationException e, IConfiguration config, string prefix)
    {
        int colon = e.Message.LastIndexOf(": ", StringComparison.Ordinal);
        if (!e.Message.Contains("ErrorOnUnknownConfiguration", StringComparison.Ordinal) || colon < 0) return e.Message;
        string[] names = [.. e.Message[(colon + 2)..].Split(',').Select(n => n.Trim().Trim('\'', '.'))];
        string[] keys = [.. config.AsEnumerable(makePathsRelative: true)
            .Select(kv => kv.Key)
            .Where(k => names.Any(n => k.Equals(n, StringComparison.OrdinalIgnoreCase) || k.EndsWith(":" + n, StringComparison.OrdinalIgnoreCase)))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Select(k => prefix + k)];
        return keys.Length == 0
            ? $"unknown configuration key{(names.Length > 1 ? "s" : "")} {string.Join(", ", names)}"
            : $"unknown configuration key{(keys.Length > 1 ? "s" : "")} {string.Join(", ", keys)} (no such setting; check the spelling against the README's configuration)";
    }

    private static (string? File, List<string> Remaining) ExtractConfigFile(IReadOnlyList<string> tokens)
    {
        string? file = null;
        var rest = new List<string>();
        for (int i = 0; i < tokens.Count; i++)
        {
            string t = tokens[i];
            if (t == "--config")
            {
                if (i + 1 >= tokens.Count) throw new ConfigurationError("--config needs a file name");
                file = tokens[++i];
            }
            else if (t.StartsWith("--config=", StringComparison.Ordinal)) file = t["--config=".Length..];
            else rest.Add(t);
        }
        return (file, rest);
    }

    /// <summary>Boolean flags given bare (<c>--no-tcp</c>) become key=value pairs.</summary>
    private static string[] NormalizeFlags(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        foreach (string t in tokens)
        {
            if (t == "--no-tcp") { result.Add("--Broker:ListenTcp=false"); continue; }
            if (t.StartsWith('-') && !t.StartsWith("--", StringComparison.Ordinal))
                throw new ConfigurationError($"unknown option '{t}' (options are written --name value)");
            result.Add(t);
        }
        return [.. result];
    }
}
