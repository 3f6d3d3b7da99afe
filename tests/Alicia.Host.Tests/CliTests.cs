using Alicia.Host.Commands;

namespace Alicia.Host.Tests;

/// <summary>The <c>alicia</c> command line in process: parsing, help, errors and exit codes, configuration keys.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "alicia-cli-" + Guid.NewGuid().ToString("N"));

    public CliTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static async Task<(int Code, string Out, string Err)> Run(IDictionary<string, string?>? environment, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await Cli.RunAsync(args, stdout, stderr, environment ?? new Dictionary<string, string?>());
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static Task<(int Code, string Out, string Err)> Run(params string[] args) => Run(null, args);

    private string EmptyConfig()
    {
        string path = Path.Combine(_dir, "empty-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, "{}");
        return path;
    }

    [Fact]
    public async Task Help_lists_the_commands()
    {
        (int code, string output, _) = await Run("--help");
        Assert.Equal(0, code);
        foreach (string command in new[] { "run", "keys", "ping", "devices", "simulate", "voice", "models", "ca", "device", "broker", "audit" })
            Assert.Matches($"(?m)^  {command} +\\S", output);
        Assert.Contains("--Section:Key=VALUE", output);
        Assert.Contains("Exit codes: 0 ok, 1 failure, 2 usage or configuration error", output);
    }

    [Theory]
    [InlineData(new[] { "run", "--help" }, "alicia run [options]", new[] { "--port <N>", "--broker <URL>", "--listen <ADDRESS>", "--no-tcp", "--name <NAME>", "--config <FILE>", "--keys <DIR>", "--data <DIR>", "--verbose" }, new[] { "--timeout", "--json", "--type" })]
    [InlineData(new[] { "ping", "-h" }, "alicia ping [options]", new[] { "--as <NAME>", "--to <NAME>", "--timeout <SECONDS>", "--json", "--port <N>" }, new[] { "--no-tcp", "--type", "--websocket" })]
    [InlineData(new[] { "keys", "new", "--help" }, "alicia keys new <name> [options]", new[] { "<name>", "--keys <DIR>" }, new[] { "--port", "--timeout" })]
    [InlineData(new[] { "devices", "lookup", "--help" }, "alicia devices lookup <capability> [options]", new[] { "--in <PLACE>", "--timeout <SECONDS>" }, new[] { "--no-tcp" })]
    [InlineData(new[] { "voice", "send", "--help" }, "alicia voice send <file> [options]", new[] { "--websocket", "--language <CODE>", "--budget <MS>", "--kind <command|dictation>" }, new[] { "--type" })]
    [InlineData(new[] { "device", "provision", "--help" }, "alicia device provision <id> [options]", new[] { "--type <TYPE>", "--role <ROLE>", "--password-from-env <VAR>", "--broker-url <URL>" }, new[] { "--overlap", "--timeout" })]
    [InlineData(new[] { "broker", "config", "mosquitto", "--help" }, "alicia broker config mosquitto [options]", new[] { "--plain-port <N>", "--no-anonymous", "--port <N>" }, new[] { "--broker <URL>" })]
    [InlineData(new[] { "models", "random", "--help" }, "alicia models random <file> [options]", new[] { "--size <micro|tiny>", "--weights <f16|q8_0|q5_1>" }, new[] { "--config" })]
    [InlineData(new[] { "help", "audit", "tail" }, "alicia audit tail [options]", new[] { "-n, --lines <N>", "--data <DIR>" }, new[] { "--port" })]
    public async Task Each_command_prints_its_own_help(string[] args, string usage, string[] present, string[] absent)
    {
        (int code, string output, string error) = await Run(args);
        Assert.True(code == 0, error);
        Assert.Contains(usage, output);
        foreach (string option in present) Assert.Contains(option, output);
        foreach (string option in absent) Assert.DoesNotContain(option, output);
        Assert.DoesNotContain("simulate", output); // not the global list of commands
    }

    [Fact]
    public async Task Unknown_command_is_a_usage_error()
    {
        (int code, string output, string error) = await Run("fly");
        Assert.Equal(2, code);
        Assert.Contains("alicia: unknown command 'fly'", error);
        Assert.Contains("Run 'alicia --help'", error);
        Assert.Equal("", output);

        (code, _, error) = await Run("devices", "fly");
        Assert.Equal(2, code);
        Assert.Contains("alicia devices: unknown command 'fly'", error);
    }

    [Fact]
    public async Task Unknown_option_is_a_usage_error_naming_the_option_and_the_command()
    {
        (int code, _, string error) = await Run("ping", "--frob", "--config", EmptyConfig());
        Assert.Equal(2, code);
        Assert.Contains("alicia ping: unknown option '--frob'", error);
        Assert.Contains("Run 'alicia ping --help' for usage.", error);

        (code, _, error) = await Run("keys", "new");
        Assert.Equal(2, code);
        Assert.Contains("alicia keys new:", error);
        Assert.Contains("'name'", error);

        (code, _, error) = await Run("keys");
        Assert.Equal(2, code);
        Assert.Contains("alicia keys: which command? new, list", error);

        (code, _, error) = await Run("models", "list", "--Voice:HangoverMs=200");
        Assert.Equal(2, code);
        Assert.Contains("unknown option '--Voice:HangoverMs'", error);
    }

    [Fact]
    public async Task Broken_configuration_exits_2_naming_the_key()
    {
        (int code, _, string error) = await Run("run", "--port", "seventy", "--config", EmptyConfig());
        Assert.Equal(2, code);
        Assert.Contains("Broker:Port", error);
        Assert.Contains("'seventy'", error);
    }

    [Fact]
    public async Task An_unknown_configuration_key_is_named_on_the_command_line_in_a_file_and_in_the_environment()
    {
        (int code, _, string error) = await Run("keys", "list", "--config", EmptyConfig(), "--Bus:Nope=1");
        Assert.Equal(2, code);
        Assert.Contains("unknown configuration key Bus:Nope", error);

        string file = Path.Combine(_dir, "nope.json");
        File.WriteAllText(file, """{ "Bus": { "RequestTimeout": "00:00:05", "Nope": 1 } }""");
        (code, _, error) = await Run("ping", "--config", file);
        Assert.Equal(2, code);
        Assert.Contains("alicia ping: configuration error: unknown configuration key Bus:Nope", error);

        (code, _, error) = await Run(new Dictionary<string, string?> { ["ALICIA_Bus__Nope"] = "1" }, "audit", "verify", "--config", EmptyConfig());
        Assert.Equal(2, code);
        Assert.Contains("unknown configuration key Bus:Nope", error);
    }

    [Fact]
    public async Task Keys_new_prints_the_public_key_and_refuses_duplicates()
    {
        string dir = Path.Combine(_dir, "keys");
        (int code, string output, _) = await Run("keys", "new", "porch-light", "--keys", dir, "--config", EmptyConfig());
        Assert.Equal(0, code);
        Assert.Equal(32, Convert.FromBase64String(output.Trim()).Length);

        (int again, _, string error) = await Run("keys", "new", "porch-light", "--keys", dir, "--config", EmptyConfig());
        Assert.Equal(1, again);
        Assert.Contains("already exists", error);

        (int listed, string list, _) = await Run("keys", "list", "--keys", dir, "--config", EmptyConfig());
        Assert.Equal(0, listed);
        Assert.Contains("porch-light", list);

        (int bad, _, error) = await Run("keys", "new", "../etc", "--keys", dir, "--config", EmptyConfig());
        Assert.Equal(2, bad);
        Assert.Contains("'../etc' is not a valid key name", error);
    }

    [Fact]
    public async Task Configuration_keys_on_the_command_line_reach_the_configuration_in_both_forms()
    {
        string keys = Path.Combine(_dir, "by-key"), other = Path.Combine(_dir, "by-value");
        Assert.Equal(0, (await Run("keys", "new", "a", "--config", EmptyConfig(), "--KeyDirectory=" + keys)).Code);
        Assert.Equal(0, (await Run("keys", "new", "b", "--KeyDirectory", other, "--config", EmptyConfig())).Code);
        Assert.True(File.Exists(Path.Combine(keys, "a.pub")));
        Assert.True(File.Exists(Path.Combine(other, "b.pub")));

        // The command's own option beats the same key given as a key.
        Assert.Equal(0, (await Run("keys", "new", "c", "--KeyDirectory", other, "--keys", keys, "--config", EmptyConfig())).Code);
        Assert.True(File.Exists(Path.Combine(keys, "c.pub")));
    }

    [Fact]
    public async Task The_key_directory_comes_from_the_environment_and_relative_paths_in_a_file_from_its_folder()
    {
        string fromEnvironment = Path.Combine(_dir, "env-keys");
        (int code, _, string error) = await Run(new Dictionary<string, string?> { ["ALICIA_KeyDirectory"] = fromEnvironment }, "keys", "new", "hall", "--config", EmptyConfig());
        Assert.True(code == 0, error);
        Assert.True(File.Exists(Path.Combine(fromEnvironment, "hall.pub")));

        string site = Path.Combine(_dir, "site");
        Directory.CreateDirectory(site);
        string config = Path.Combine(site, "alicia.json");
        File.WriteAllText(config, """{ "KeyDirectory": "keys" }""");
        (code, _, error) = await Run("keys", "new", "porch", "--config", config);
        Assert.True(code == 0, error);
        Assert.True(File.Exists(Path.Combine(site, "keys", "porch.pub"))); // not ./keys of the working directory
    }

    [Fact]
    public async Task Version_prints_and_exits_0()
    {
        (int code, string output, _) = await Run("--version");
        Assert.Equal(0, code);
        Assert.Matches(@"^\d+\.\d+\.\d+", output.Trim());
    }
}
