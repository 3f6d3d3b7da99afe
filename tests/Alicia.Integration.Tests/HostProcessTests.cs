using System.Globalization;
using System.Text.RegularExpressions;

namespace Alicia.Integration.Tests;

/// <summary>The <c>alicia</c> program itself, as a user runs it: start, ping, signals, errors.</summary>
public sealed partial class HostProcessTests : IDisposable
{
    private readonly TempDirectory _dir = new("alicia-host");

    public void Dispose() => _dir.Dispose();

    private static string AliciaDll => Path.Combine(AppContext.BaseDirectory, "alicia.dll");

    private string Keys => _dir.Keys;

    /// <summary><c>dotnet alicia.dll ARGS</c> in the test's directory, without the ALICIA_ variables of whoever runs the tests.</summary>
    private ChildProcess Start(params string[] args) => ChildProcess.Start("dotnet", [AliciaDll, .. args], Configure);

    private Task<ProcessResult> RunToEnd(params string[] args) => ChildProcess.RunAsync("dotnet", [AliciaDll, .. args], TimeSpan.FromSeconds(60), Configure);

    private void Configure(System.Diagnostics.ProcessStartInfo info)
    {
        info.WorkingDirectory = _dir.Path;
        foreach (string key in info.Environment.Keys.Where(k => k.StartsWith("ALICIA_", StringComparison.Ordinal)).ToList()) info.Environment.Remove(key);
    }

    /// <summary>Starts <c>alicia run ARGS</c> and returns once it says where it listens.</summary>
    private async Task<(ChildProcess Engine, int Port)> RunEngine(params string[] args)
    {
        ChildProcess engine = Start(["run", .. args]);
        try
        {
            // The CLI's own line on standard output (the log on standard error names the port before the engine is up).
            string listening = await engine.WaitForLineAsync(line => ListenLine().IsMatch(line), TimeSpan.FromSeconds(30), OutputStream.StandardOutput);
            return (engine, int.Parse(ListenLine().Match(listening).Groups[1].Value, CultureInfo.InvariantCulture));
        }
        catch
        {
            await engine.DisposeAsync();
            throw;
        }
    }

    private static string Text(int port) => port.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"mqtt://127\.0\.0\.1:(\d+)")]
    private static partial Regex ListenLine();

    [Fact]
    public async Task Run_serves_a_ping_and_stops_cleanly_on_sigterm()
    {
        (ChildProcess engine, int port) = await RunEngine("--port", "0", "--keys", Keys);
        await using (engine)
        {
            (int code, string pong, string err) = await RunToEnd("ping", "--port", Text(port), "--keys", Keys);
            Assert.True(code == 0, err);
            Assert.Contains("pong from alicia-engine to alicia-cli", pong);
            Assert.Contains("verified: SourceSigned", pong);

            engine.Terminate();
            Assert.Equal(0, await engine.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("alicia: stopping", engine.StandardOutput);
        }
    }

    [Fact]
    public async Task Behind_the_default_gateway_local_tools_simulate_devices_list_them_and_anonymous_clients_only_read()
    {
        (ChildProcess engine, int port) = await RunEngine("--port", "0", "--keys", Keys);
        await using (engine)
        {
            (int simulated, string simOut, string simErr) = await RunToEnd("simulate", "--devices", "4", "--duration", "3", "--keep", "--port", Text(port), "--keys", Keys);
            Assert.True(simulated == 0, simOut + simErr);
            (int listed, string list, string listErr) = await RunToEnd("devices", "list", "--port", Text(port), "--keys", Keys);
            Assert.True(listed == 0, listErr);
            foreach (string id in new[] { "sim-sensor-0", "sim-bulb-1", "sim-switch-2", "sim-speaker-3" }) Assert.Contains(id, list);

            // An anonymous client on loopback may read the bus but not publish to it.
            MQTTnet.IMqttClient anonymous = await RawMqtt.ConnectAsync(Alicia.Engine.Bus.BrokerEndpoint.Tcp("127.0.0.1", port));
            MQTTnet.MqttClientPublishResult publish = await anonymous.PublishAsync(new MQTTnet.MqttApplicationMessageBuilder()
                .WithTopic("alicia/devices/sim-bulb-1/command").WithPayload("on"u8.ToArray()).WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build());
            Assert.Equal(MQTTnet.MqttClientPublishReasonCode.NotAuthorized, publish.ReasonCode);
            await anonymous.CloseAsync();
        }
    }

    [Fact]
    public async Task Run_on_a_taken_port_explains_what_to_do()
    {
        await using MosquittoBroker mosquitto = await MosquittoBroker.StartLoopbackAsync();
        (int code, _, string err) = await RunToEnd("run", "--port", Text(mosquitto.Port), "--keys", Keys);
        Assert.Equal(1, code);
        Assert.Contains("already in use", err);
        Assert.Contains($"--broker mqtt://127.0.0.1:{mosquitto.Port}", err);
    }

    [Fact]
    public async Task Run_against_mosquitto_as_external_broker_serves_a_ping()
    {
        await using MosquittoBroker mosquitto = await MosquittoBroker.StartLoopbackAsync();
        string url = $"mqtt://127.0.0.1:{mosquitto.Port}";
        await using ChildProcess engine = Start("run", "--broker", url, "--keys", Keys);
        await engine.WaitForLineAsync(line => line.Contains("external broker", StringComparison.Ordinal), TimeSpan.FromSeconds(30), OutputStream.StandardOutput);

        (int code, string pong, string err) = await RunToEnd("ping", "--broker", url, "--keys", Keys, "--json");
        Assert.True(code == 0, err);
        Assert.Contains("pong from alicia-engine", pong);
    }

    [Fact]
    public async Task Broken_config_file_exits_2_naming_the_key()
    {
        await File.WriteAllTextAsync(_dir.Sub("alicia.json"), """{ "Broker": { "Port": "many" } }""");
        (int code, _, string err) = await RunToEnd("run");
        Assert.Equal(2, code);
        Assert.Contains("Broker:Port", err);
    }

    [Fact]
    public async Task Ping_without_an_engine_fails_with_a_clear_message()
    {
        int port = FreePort.Next();
        (int code, _, string err) = await RunToEnd("ping", "--port", Text(port), "--keys", Keys, "--timeout", "2");
        Assert.Equal(1, code);
        Assert.Contains($"cannot connect to mqtt://127.0.0.1:{port}", err);
    }
}
