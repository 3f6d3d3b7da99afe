using System.Globalization;
using Alicia.Engine.Hosting;
using Alicia.Host.Commands;
using Alicia.Host.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Alicia.Assistant.Tests;

/// <summary><c>alicia say</c> through the real command line, against an engine with the assistant.</summary>
public sealed class SayCommandTests
{
    private static async Task<(int Code, string Out, string Err)> RunAsync(IDictionary<string, string?> environment, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await Cli.RunAsync(args, stdout, stderr, environment);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Say_switches_the_kitchen_light_and_prints_the_reply_and_what_was_done()
    {
        await using AssistantHarness h = await AssistantHarness.StartAsync();
        await h.HomeAsync("kitchen-light", "kitchen-satellite");
        (int code, string output, string error) = await RunAsync(new Dictionary<string, string?>(),
            "say", "turn on the kitchen light", "--device", "kitchen-satellite", "--port", h.Test.Port.ToString(CultureInfo.InvariantCulture), "--keys", h.Test.Directory.Keys, "--data", h.Test.Directory.Data);

        Assert.True(code == 0, output + error);
        Assert.Contains("The kitchen light is on.", output);
        Assert.Contains("[local_intent] turn_on light in kitchen -> kitchen-light: confirmed; confirmed", output);
        Assert.Equal("true", h.Devices["kitchen-light"].State["on"]);
    }

    [Fact]
    public async Task Alicia_run_hosts_the_assistant_from_its_configuration_and_say_streams_the_models_answer()
    {
        await using var grok = new FakeGrokServer();
        grok.Then(FakeGrokReply.Text("Paris is the capital of France. ", "It is on the Seine."));
        using var dir = new TempDirectory("alicia-say");
        int port = FreePort.Next();
        var request = new ConfigurationRequest();
        request.Values["KeyDirectory"] = dir.Keys;
        request.Values["DataDirectory"] = dir.Data;
        request.Values["Broker:Port"] = port.ToString(CultureInfo.InvariantCulture);
        request.Values["Assistant:Grok:BaseUrl"] = grok.BaseUrl;
        request.Values["Assistant:Grok:ApiKey"] = "test-key";
        using IHost host = RunCommand.BuildHost(ConfigurationLoader.LoadAll(request, new Dictionary<string, string?>()), LogLevel.Warning);
        Assert.Contains(host.Services.GetServices<IEngineService>(), s => s is AssistantService);
        await host.StartAsync();
        try
        {
            var environment = new Dictionary<string, string?> { ["ALICIA_DataDirectory"] = dir.Data, ["ALICIA_KeyDirectory"] = dir.Keys };
            (int code, string output, string error) = await RunAsync(environment, "say", "what is the capital of France", "--room", "kitchen", "--port", port.ToString(CultureInfo.InvariantCulture));
            Assert.True(code == 0, output + error);
            Assert.Contains("Paris is the capital of France.\nIt is on the Seine.", output.ReplaceLineEndings("\n"));
            Assert.Contains("[llm] llm in kitchen; llm", output);

            (code, output, error) = await RunAsync(environment, "say", "turn on the jacuzzi", "--room", "kitchen", "--port", port.ToString(CultureInfo.InvariantCulture));
            Assert.True(code == 0, output + error);
            Assert.Contains("I don't know a device called jacuzzi.", output);
            Assert.Equal(1, grok.Calls);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public void An_unknown_assistant_key_is_a_configuration_error_naming_it()
    {
        var request = new ConfigurationRequest();
        request.Values["Assistant:Nope"] = "1";
        IConfiguration config = new ConfigurationBuilder().AddInMemoryCollection(request.Values).Build();
        var e = Assert.Throws<ConfigurationError>(() => ConfigurationLoader.BindAssistant(config, new AssistantSettings()));
        Assert.Contains("Assistant:Nope", e.Message);
        Assert.Empty(AssistantSettingsValidator.Failures(new AssistantSettings()));
        Assert.Contains(AssistantSettingsValidator.Failures(new AssistantSettings { Language = "xx" }), f => f.StartsWith("Assistant:Language", StringComparison.Ordinal));
        Assert.Contains(AssistantSettingsValidator.Failures(new AssistantSettings { Grok = { BaseUrl = "ftp://x" } }), f => f.StartsWith("Assistant:Grok:BaseUrl", StringComparison.Ordinal));
    }
}
