using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security;
using Microsoft.Extensions.Configuration;

namespace Alicia.Host.Configuration;

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

    public static AliciaEngineOptions Load(IReadOnlyList<string> optionTokens, IDictionary<string, string?>? environment = null)
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

        var options = new AliciaEngineOptions();
        try
        {
            config.Bind(options, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException e)
        {
            throw new ConfigurationError(e.Message);
        }
        Validate(options);
        return options;
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

    public static void Validate(AliciaEngineOptions o)
    {
        if (!IdentityNames.IsValid(o.Name)) throw new ConfigurationError($"Name: '{o.Name}' is not a valid identity name (1-{IdentityNames.MaxLength} of a-z A-Z 0-9 - _ .)");
        if (string.IsNullOrWhiteSpace(o.KeyDirectory)) throw new ConfigurationError("KeyDirectory: must not be empty");
        if (string.IsNullOrWhiteSpace(o.DataDirectory)) throw new ConfigurationError("DataDirectory: must not be empty");
        if (!string.IsNullOrWhiteSpace(o.BrokerUrl))
        {
            try { BrokerEndpoint.Parse(o.BrokerUrl); }
            catch (FormatException e) { throw new ConfigurationError($"BrokerUrl: {e.Message}"); }
        }
        if (o.Broker.Port is < 0 or > 65535) throw new ConfigurationError($"Broker:Port: {o.Broker.Port} is not a TCP port (0-65535)");
        if (!System.Net.IPAddress.TryParse(o.Broker.ListenAddress, out _) && o.Broker.ListenAddress != "localhost")
            throw new ConfigurationError($"Broker:ListenAddress: '{o.Broker.ListenAddress}' is not an IP address");
        if (o.Broker.MaxPendingMessagesPerClient < 1) throw new ConfigurationError("Broker:MaxPendingMessagesPerClient: must be at least 1");
        if (o.Broker.BackpressureWatermark < 1 || o.Broker.BackpressureWatermark > o.Broker.MaxPendingMessagesPerClient)
            throw new ConfigurationError($"Broker:BackpressureWatermark: must be between 1 and Broker:MaxPendingMessagesPerClient ({o.Broker.MaxPendingMessagesPerClient})");
        if (o.Security.MaxClockSkew <= TimeSpan.Zero) throw new ConfigurationError("Security:MaxClockSkew: must be positive (e.g. 00:00:30)");
        if (o.Security.MaxMessageBytes < 1024) throw new ConfigurationError("Security:MaxMessageBytes: must be at least 1024");
        if (o.Security.ReplayCapacity < 1024) throw new ConfigurationError("Security:ReplayCapacity: must be at least 1024");
        if (o.HeartbeatInterval < TimeSpan.FromMilliseconds(100)) throw new ConfigurationError("HeartbeatInterval: must be at least 00:00:00.1");
        if (o.Bus.RequestTimeout <= TimeSpan.Zero) throw new ConfigurationError("Bus:RequestTimeout: must be positive");
        if (o.Voice.WhisperConcurrency is < 0 or > 16) throw new ConfigurationError($"Voice:WhisperConcurrency: {o.Voice.WhisperConcurrency} is not between 0 (default) and 16");
        if (o.Voice.WhisperThreads is < 0 or > 64) throw new ConfigurationError($"Voice:WhisperThreads: {o.Voice.WhisperThreads} is not between 0 (default) and 64");
        if ((o.Voice.TlsCertificatePath.Length > 0) != (o.Voice.TlsKeyPath.Length > 0))
            throw new ConfigurationError("Voice:TlsCertificatePath and Voice:TlsKeyPath go together (PEM certificate and its key)");
        foreach ((string key, string path) in new[] { ("Voice:TlsCertificatePath", o.Voice.TlsCertificatePath), ("Voice:TlsKeyPath", o.Voice.TlsKeyPath) })
            if (path.Length > 0 && !File.Exists(path)) throw new ConfigurationError($"{key}: '{path}' does not exist");
        if (System.Net.IPAddress.TryParse(o.Voice.ListenAddress, out System.Net.IPAddress? listen) && (listen.Equals(System.Net.IPAddress.Any) || listen.Equals(System.Net.IPAddress.IPv6Any))
            && string.IsNullOrWhiteSpace(o.Voice.AdvertisedHost))
            throw new ConfigurationError($"Voice:AdvertisedHost: needed when Voice:ListenAddress is {o.Voice.ListenAddress} (sessions must name an address satellites can reach)");
        // The hangover must cover the speech padding on both sides (2 x 30 ms); beyond 2 s a command feels dead.
        if (o.Voice.HangoverMs is < 60 or > 2000) throw new ConfigurationError($"Voice:HangoverMs: {o.Voice.HangoverMs} is not between 60 and 2000");
        if (o.Voice.SpeculateAfterMs < -1 || o.Voice.SpeculateAfterMs >= o.Voice.HangoverMs)
            throw new ConfigurationError($"Voice:SpeculateAfterMs: {o.Voice.SpeculateAfterMs} must be -1 (off) or from 0 to below Voice:HangoverMs ({o.Voice.HangoverMs})");
    }
}
