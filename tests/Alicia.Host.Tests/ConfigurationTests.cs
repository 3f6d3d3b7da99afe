using Alicia.Engine.Hosting;
using Alicia.Host.Configuration;

namespace Alicia.Host.Tests;

public sealed class ConfigurationTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "alicia-config-" + Guid.NewGuid().ToString("N"));

    public ConfigurationTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly Dictionary<string, string?> NoEnvironment = [];

    private string File(string json)
    {
        string path = Path.Combine(_dir, "alicia.json");
        System.IO.File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void Defaults_are_a_loopback_embedded_broker_on_1883()
    {
        AliciaEngineOptions o = ConfigurationLoader.Load(new ConfigurationRequest { File = File("{}") }, NoEnvironment);
        Assert.Equal("127.0.0.1", o.Broker.ListenAddress);
        Assert.Equal(1883, o.Broker.Port);
        Assert.True(string.IsNullOrEmpty(o.BrokerUrl));
        Assert.Equal(TimeSpan.FromSeconds(30), o.Security.MaxClockSkew);
    }

    [Fact]
    public void Command_line_beats_environment_beats_file()
    {
        string file = File("""{ "Broker": { "Port": 1000, "ListenAddress": "127.0.0.2" }, "Name": "from-file" }""");
        var env = new Dictionary<string, string?> { ["ALICIA_Broker__Port"] = "2000", ["ALICIA_Name"] = "from-env", ["OTHER"] = "x" };

        var request = new ConfigurationRequest { File = file, Keys = [new("Security:MaxClockSkew", "00:00:10"), new("Broker:Port", "2500")] };
        request.Values["Broker:Port"] = "3000"; // --port 3000: the command's own option beats the same key given as such

        AliciaEngineOptions o = ConfigurationLoader.Load(request, env);

        Assert.Equal(3000, o.Broker.Port);
        Assert.Equal("127.0.0.2", o.Broker.ListenAddress);
        Assert.Equal("from-env", o.Name);
        Assert.Equal(TimeSpan.FromSeconds(10), o.Security.MaxClockSkew);
    }

    [Theory]
    [InlineData("""{ "Broker": { "Port": "eighteen" } }""", "Broker:Port")]
    [InlineData("""{ "Broker": { "Port": 70000 } }""", "Broker:Port")]
    [InlineData("""{ "Brokr": { "Port": 1 } }""", "Brokr")]
    [InlineData("""{ "Bus": { "Nope": 1 } }""", "unknown configuration key Bus:Nope")]
    [InlineData("""{ "Voice": { "Nope": 1 } }""", "unknown configuration key Voice:Nope")]
    [InlineData("""{ "BrokerUrl": "http://example" }""", "BrokerUrl")]
    [InlineData("""{ "Broker": { "ListenAddress": "kitchen" } }""", "Broker:ListenAddress")]
    [InlineData("""{ "Security": { "MaxClockSkew": "-00:00:01" } }""", "Security:MaxClockSkew")]
    [InlineData("""{ "Name": "no/slashes" }""", "Name")]
    [InlineData("""{ "Voice": { "HangoverMs": 20 } }""", "Voice:HangoverMs")]
    [InlineData("""{ "Voice": { "ListenAddress": "0.0.0.0" } }""", "Voice:AdvertisedHost")]
    [InlineData("""{ "Voice": { "TlsCertificatePath": "/etc/hostname" } }""", "Voice:TlsKeyPath")]
    [InlineData("""{ "Voice": { "TlsCertificatePath": "/nonexistent/audio.pem", "TlsKeyPath": "/nonexistent/audio.key" } }""", "Voice:TlsCertificatePath")]
    [InlineData("""{ "Voice": { "HangoverMs": 300, "SpeculateAfterMs": 300 } }""", "Voice:SpeculateAfterMs")]
    [InlineData("""{ "Diagnostics": { "Nope": true } }""", "unknown configuration key Diagnostics:Nope")]
    [InlineData("""{ "Diagnostics": { "StartupTrace": "yes" } }""", "Diagnostics:StartupTrace")]
    public void Broken_configuration_names_the_key(string json, string key)
    {
        var e = Assert.Throws<ConfigurationError>(() => ConfigurationLoader.Load(new ConfigurationRequest { File = File(json) }, NoEnvironment));
        Assert.Contains(key, e.Message);
    }

    [Fact]
    public void Invalid_json_is_a_configuration_error()
    {
        var e = Assert.Throws<ConfigurationError>(() => ConfigurationLoader.Load(new ConfigurationRequest { File = File("{ \"Broker\": ") }, NoEnvironment));
        Assert.Contains("alicia.json", e.Message);
    }

    [Fact]
    public void Missing_config_file_is_named()
    {
        var e = Assert.Throws<ConfigurationError>(() => ConfigurationLoader.Load(new ConfigurationRequest { File = Path.Combine(_dir, "nope.json") }, NoEnvironment));
        Assert.Contains("nope.json", e.Message);
    }

    [Fact]
    public void Environment_value_of_the_wrong_type_names_the_key()
    {
        var env = new Dictionary<string, string?> { ["ALICIA_Broker__Port"] = "many" };
        var e = Assert.Throws<ConfigurationError>(() => ConfigurationLoader.Load(new ConfigurationRequest { File = File("{}") }, env));
        Assert.Contains("Broker:Port", e.Message);
    }

    [Fact]
    public void Relative_paths_in_a_file_are_relative_to_its_folder_and_others_stay_as_written()
    {
        string file = File("""
            { "KeyDirectory": "keys", "DataDirectory": "/var/lib/alicia", "Name": "kitchen",
              "Bus": { "CaCertificatePath": "certs/ca.pem" }, "Voice": { "ExtraWhisperModelPaths": [ "models/a.bin" ] } }
            """);
        var env = new Dictionary<string, string?> { ["ALICIA_Registry__DatabasePath"] = "reg.db" };

        LoadedConfiguration c = ConfigurationLoader.LoadAll(new ConfigurationRequest { File = file }, env);

        Assert.Equal(Path.Combine(_dir, "keys"), c.Engine.KeyDirectory);
        Assert.Equal("/var/lib/alicia", c.Engine.DataDirectory);
        Assert.Equal("kitchen", c.Engine.Name);
        Assert.Equal(Path.Combine(_dir, "certs", "ca.pem"), c.Engine.Bus.CaCertificatePath);
        Assert.Equal([Path.Combine(_dir, "models", "a.bin")], c.Voice.ExtraWhisperModelPaths);
        Assert.Equal("reg.db", c.Engine.Registry.DatabasePath); // the environment's are the user's, relative to the working directory
    }

    [Theory]
    [InlineData("KeyDirectory", true)]
    [InlineData("Bus:ClientKeyPath", true)]
    [InlineData("Voice:ExtraWhisperModelPaths:3", true)]
    [InlineData("Name", false)]
    [InlineData("Broker:Port", false)]
    public void Path_keys_are_recognised(string key, bool isPath) => Assert.Equal(isPath, ConfigurationLoader.IsPathKey(key));
}
