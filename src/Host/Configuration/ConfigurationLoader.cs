using Alicia.Engine.Hosting;
using Alicia.Voice;
using Microsoft.Extensions.Configuration;

namespace Alicia.Host.Configuration;

/// <summary>The configuration as read, and the options bound from it (already validated).</summary>
internal sealed record LoadedConfiguration(IConfiguration Source, AliciaEngineOptions Engine, VoiceSettings Voice);

/// <summary>A configuration problem, naming the key at fault.</summary>
internal sealed class ConfigurationError(string message) : Exception(message);

/// <summary>What a command line says about the configuration: the file, the keys its options set, and keys given as such.</summary>
internal sealed class ConfigurationRequest
{
    /// <summary><c>--config FILE</c>; null: <c>alicia.json</c> in the working directory when it exists.</summary>
    public string? File { get; init; }

    /// <summary>Keys set by the commands' own options (<c>--port 1884</c> sets <c>Broker:Port</c>).</summary>
    public Dictionary<string, string?> Values { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Any key given on the command line as <c>--Section:Key=VALUE</c> (or <c>--Section:Key VALUE</c>), in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string?>> Keys { get; init; } = [];
}

/// <summary>
/// Builds the engine's options from, in rising precedence: <c>alicia.json</c> (or <c>--config FILE</c>),
/// environment variables prefixed <c>ALICIA_</c> (<c>ALICIA_Broker__Port=1884</c>), any key on the command
/// line (<c>--Broker:Port=1884</c>), and the commands' options (<c>--port 1884</c>). Relative paths in a
/// configuration file (keys ending in <c>Path</c>, <c>Paths</c> or <c>Directory</c>) are relative to that file's
/// folder. Binding is source-generated (AOT-safe); an unknown key, a value of the wrong type or out of range
/// is an error naming the key.
/// </summary>
internal static class ConfigurationLoader
{
    public const string DefaultFile = "alicia.json";
    public const string EnvironmentPrefix = "ALICIA_";

    /// <summary>The configuration from the file, the environment and the command line, in rising precedence.</summary>
    public static IConfiguration Build(ConfigurationRequest request, IDictionary<string, string?>? environment = null)
    {
        var builder = new ConfigurationBuilder();
        if (request.File is not null && !System.IO.File.Exists(request.File))
            throw new ConfigurationError($"configuration file '{request.File}' does not exist");
        string file = request.File ?? DefaultFile;
        if (System.IO.File.Exists(file)) builder.AddInMemoryCollection(ReadFile(Path.GetFullPath(file)));

        if (environment is null) builder.AddEnvironmentVariables(EnvironmentPrefix);
        else builder.AddInMemoryCollection(environment.Where(kv => kv.Key.StartsWith(EnvironmentPrefix, StringComparison.Ordinal))
            .Select(kv => new KeyValuePair<string, string?>(kv.Key[EnvironmentPrefix.Length..].Replace("__", ":", StringComparison.Ordinal), kv.Value)));
        builder.AddInMemoryCollection(request.Keys);
        builder.AddInMemoryCollection(request.Values);

        try
        {
            return builder.Build();
        }
        catch (Exception e) when (e is FormatException or InvalidDataException)
        {
            throw new ConfigurationError($"cannot read configuration: {e.Message}");
        }
    }

    /// <summary>The file's keys, its relative paths made absolute against the file's folder.</summary>
    private static IEnumerable<KeyValuePair<string, string?>> ReadFile(string path)
    {
        IConfigurationRoot json;
        try
        {
            json = new ConfigurationBuilder().AddJsonFile(path, optional: false, reloadOnChange: false).Build();
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or System.Text.Json.JsonException)
        {
            throw new ConfigurationError($"cannot read configuration: {e.Message}{(e.InnerException is { } inner ? " " + inner.Message : "")}");
        }
        string folder = Path.GetDirectoryName(path)!;
        return [.. json.AsEnumerable().Where(kv => kv.Value is not null)
            .Select(kv => IsPathKey(kv.Key) && kv.Value is { Length: > 0 } value && !Path.IsPathRooted(value)
                ? new KeyValuePair<string, string?>(kv.Key, Path.GetFullPath(Path.Combine(folder, value)))
                : kv)];
    }

    /// <summary><c>KeyDirectory</c>, <c>Bus:CaCertificatePath</c>, <c>Voice:ExtraWhisperModelPaths:0</c>: keys whose value is a file or folder.</summary>
    internal static bool IsPathKey(string key)
    {
        string[] parts = key.Split(':');
        string last = parts[^1];
        if (last.EndsWith("Path", StringComparison.OrdinalIgnoreCase) || last.EndsWith("Directory", StringComparison.OrdinalIgnoreCase)) return true;
        return parts.Length > 1 && parts[^2].EndsWith("Paths", StringComparison.OrdinalIgnoreCase) && last.All(char.IsAsciiDigit);
    }

    /// <summary>The engine's options and the sections of the capabilities (<c>Voice</c>), bound and validated.</summary>
    public static LoadedConfiguration LoadAll(ConfigurationRequest request, IDictionary<string, string?>? environment = null)
    {
        IConfiguration config = Build(request, environment);
        var engine = new AliciaEngineOptions();
        BindEngine(config, engine);
        var voice = new VoiceSettings();
        BindVoice(config, voice);
        List<string> failures = [.. AliciaEngineOptionsValidator.Failures(engine), .. VoiceSettingsValidator.Failures(voice), .. DiagnosticsFailures(config)];
        if (failures.Count > 0) throw new ConfigurationError(string.Join("; ", failures));
        return new LoadedConfiguration(config, engine, voice);
    }

    /// <summary>The <c>Diagnostics</c> section has one key, <c>StartupTrace</c> (true or false); anything else there is an error naming it.</summary>
    private static IEnumerable<string> DiagnosticsFailures(IConfiguration config)
    {
        foreach (IConfigurationSection key in config.GetSection("Diagnostics").GetChildren())
        {
            if (!key.Key.Equals("StartupTrace", StringComparison.OrdinalIgnoreCase))
                yield return $"unknown configuration key Diagnostics:{key.Key} (no such setting; check the spelling against the README's configuration)";
            else if (!bool.TryParse(key.Value, out _))
                yield return $"Diagnostics:StartupTrace must be true or false, not '{key.Value}'";
        }
    }

    public static AliciaEngineOptions Load(ConfigurationRequest request, IDictionary<string, string?>? environment = null) =>
        LoadAll(request, environment).Engine;

    /// <summary>The capability sections, each bound on its own: the engine's binding must not see them as unknown keys.</summary>
    private static readonly string[] CapabilitySections = ["Voice", "Assistant", "Web", "Monitoring", "Diagnostics"];

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

    /// <summary>The <c>Assistant</c> section (unknown keys are errors naming them).</summary>
    public static void BindAssistant(IConfiguration config, Alicia.Assistant.AssistantSettings assistant)
    {
        IConfigurationSection section = config.GetSection("Assistant");
        try
        {
            section.Bind(assistant, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException e)
        {
            throw new ConfigurationError(Explain(e, section, "Assistant:"));
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
}
