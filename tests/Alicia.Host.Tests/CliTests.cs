using Alicia.Host.Commands;

namespace Alicia.Host.Tests;

public sealed class CliTests
{
    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await Cli.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Help_lists_the_commands()
    {
        (int code, string output, _) = await Run("--help");
        Assert.Equal(0, code);
        foreach (string command in new[] { "alicia run", "alicia keys new", "alicia ping", "--broker URL" })
            Assert.Contains(command, output);
    }

    [Fact]
    public async Task Unknown_command_is_a_usage_error()
    {
        (int code, _, string error) = await Run("fly");
        Assert.Equal(2, code);
        Assert.Contains("unknown command 'fly'", error);
    }

    [Fact]
    public async Task Broken_configuration_exits_2_naming_the_key()
    {
        (int code, _, string error) = await Run("run", "--port", "seventy", "--config", WriteEmptyConfig());
        Assert.Equal(2, code);
        Assert.Contains("Broker:Port", error);
    }

    [Fact]
    public async Task Keys_new_prints_the_public_key_and_refuses_duplicates()
    {
        string dir = Path.Combine(Path.GetTempPath(), "alicia-cli-keys-" + Guid.NewGuid().ToString("N"));
        try
        {
            (int code, string output, _) = await Run("keys", "new", "porch-light", "--keys", dir, "--config", WriteEmptyConfig());
            Assert.Equal(0, code);
            Assert.Equal(32, Convert.FromBase64String(output.Trim()).Length);

            (int again, _, string error) = await Run("keys", "new", "porch-light", "--keys", dir, "--config", WriteEmptyConfig());
            Assert.Equal(1, again);
            Assert.Contains("already exists", error);

            (int listed, string list, _) = await Run("keys", "list", "--keys", dir, "--config", WriteEmptyConfig());
            Assert.Equal(0, listed);
            Assert.Contains("porch-light", list);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    private static string WriteEmptyConfig()
    {
        string path = Path.Combine(Path.GetTempPath(), "alicia-empty-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, "{}");
        return path;
    }
}
