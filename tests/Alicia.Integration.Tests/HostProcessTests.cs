using System.Diagnostics;
using System.Text.RegularExpressions;
using Alicia.Integration.Tests.Fixtures;

namespace Alicia.Integration.Tests;

/// <summary>The <c>alicia</c> program itself, as a user runs it: start, ping, signals, errors.</summary>
public sealed partial class HostProcessTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "alicia-host-" + Guid.NewGuid().ToString("N"));

    public HostProcessTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string AliciaDll => Path.Combine(AppContext.BaseDirectory, "alicia.dll");

    private Process Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir, UseShellExecute = false };
        info.ArgumentList.Add(AliciaDll);
        foreach (string a in args) info.ArgumentList.Add(a);
        foreach (string key in info.Environment.Keys.Where(k => k.StartsWith("ALICIA_", StringComparison.Ordinal)).ToList()) info.Environment.Remove(key);
        return Process.Start(info)!;
    }

    private async Task<(int Code, string Out, string Err)> RunToEnd(params string[] args)
    {
        using Process p = Start(args);
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (p.ExitCode, await stdout, await stderr);
    }

    [GeneratedRegex(@"mqtt://127\.0\.0\.1:(\d+)")]
    private static partial Regex ListenLine();

    [Fact]
    public async Task Run_serves_a_ping_and_stops_cleanly_on_sigterm()
    {
        string keys = Path.Combine(_dir, "keys");
        using Process engine = Start("run", "--port", "0", "--keys", keys);
        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Text.StringBuilder();
        engine.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (output) output.AppendLine(e.Data);
            Match m = ListenLine().Match(e.Data);
            if (m.Success) listening.TrySetResult(int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        };
        engine.BeginOutputReadLine();
        engine.BeginErrorReadLine();
        try
        {
            int port = await listening.Within(TimeSpan.FromSeconds(30));

            (int code, string pong, string err) = await RunToEnd("ping", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--keys", keys);
            Assert.True(code == 0, err);
            Assert.Contains("pong from alicia-engine to alicia-cli", pong);
            Assert.Contains("verified: SourceSigned", pong);

            Process.Start("kill", ["-TERM", engine.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            await engine.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, engine.ExitCode);
            lock (output) Assert.Contains("alicia: stopping", output.ToString());
        }
        finally
        {
            if (!engine.HasExited) engine.Kill();
        }
    }

    [Fact]
    public async Task Behind_the_default_gateway_local_tools_simulate_devices_list_them_and_anonymous_clients_only_read()
    {
        string keys = Path.Combine(_dir, "keys");
        using Process engine = Start("run", "--port", "0", "--keys", keys);
        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        engine.OutputDataReceived += (_, e) =>
        {
            Match m = e.Data is null ? Match.Empty : ListenLine().Match(e.Data);
            if (m.Success) listening.TrySetResult(int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        };
        engine.BeginOutputReadLine();
        engine.BeginErrorReadLine();
        try
        {
            string port = (await listening.Within(TimeSpan.FromSeconds(30))).ToString(System.Globalization.CultureInfo.InvariantCulture);

            (int simulated, string simOut, string simErr) = await RunToEnd("simulate", "--devices", "4", "--duration", "3", "--keep", "--port", port, "--keys", keys);
            Assert.True(simulated == 0, simOut + simErr);
            (int listed, string list, string listErr) = await RunToEnd("devices", "list", "--port", port, "--keys", keys);
            Assert.True(listed == 0, listErr);
            foreach (string id in new[] { "sim-sensor-0", "sim-bulb-1", "sim-switch-2", "sim-speaker-3" }) Assert.Contains(id, list);

            // An anonymous client on loopback may read the bus but not publish to it.
            using var anonymous = new MQTTnet.MqttClientFactory().CreateMqttClient();
            await anonymous.ConnectAsync(new MQTTnet.MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", int.Parse(port, System.Globalization.CultureInfo.InvariantCulture)).Build());
            MQTTnet.MqttClientPublishResult publish = await anonymous.PublishAsync(new MQTTnet.MqttApplicationMessageBuilder()
                .WithTopic("alicia/devices/sim-bulb-1/command").WithPayload("on"u8.ToArray()).WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build());
            Assert.Equal(MQTTnet.MqttClientPublishReasonCode.NotAuthorized, publish.ReasonCode);
            await anonymous.DisconnectAsync(new MQTTnet.MqttClientDisconnectOptions());
        }
        finally
        {
            engine.Kill();
            await engine.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Run_on_a_taken_port_explains_what_to_do()
    {
        await using var mosquitto = new MosquittoFixture();
        await mosquitto.InitializeAsync();
        (int code, _, string err) = await RunToEnd("run", "--port", mosquitto.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--keys", Path.Combine(_dir, "keys"));
        Assert.Equal(1, code);
        Assert.Contains("already in use", err);
        Assert.Contains($"--broker mqtt://127.0.0.1:{mosquitto.Port}", err);
    }

    [Fact]
    public async Task Run_against_mosquitto_as_external_broker_serves_a_ping()
    {
        await using var mosquitto = new MosquittoFixture();
        await mosquitto.InitializeAsync();
        string keys = Path.Combine(_dir, "keys");
        string url = $"mqtt://127.0.0.1:{mosquitto.Port}";
        using Process engine = Start("run", "--broker", url, "--keys", keys);
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        engine.OutputDataReceived += (_, e) => { if (e.Data?.Contains("external broker", StringComparison.Ordinal) == true) running.TrySetResult(); };
        engine.BeginOutputReadLine();
        engine.BeginErrorReadLine();
        try
        {
            await running.Within(TimeSpan.FromSeconds(30));
            (int code, string pong, string err) = await RunToEnd("ping", "--broker", url, "--keys", keys, "--json");
            Assert.True(code == 0, err);
            Assert.Contains("pong from alicia-engine", pong);
        }
        finally
        {
            engine.Kill();
            await engine.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Broken_config_file_exits_2_naming_the_key()
    {
        await File.WriteAllTextAsync(Path.Combine(_dir, "alicia.json"), """{ "Broker": { "Port": "many" } }""");
        (int code, _, string err) = await RunToEnd("run");
        Assert.Equal(2, code);
        Assert.Contains("Broker:Port", err);
    }

    [Fact]
    public async Task Ping_without_an_engine_fails_with_a_clear_message()
    {
        int port = FreePort.Next();
        (int code, _, string err) = await RunToEnd("ping", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--keys", Path.Combine(_dir, "keys"), "--timeout", "2");
        Assert.Equal(1, code);
        Assert.Contains($"cannot connect to mqtt://127.0.0.1:{port}", err);
    }
}
