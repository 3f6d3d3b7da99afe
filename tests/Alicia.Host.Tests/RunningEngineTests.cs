using System.Text;
using Alicia.Engine.Hosting;
using Alicia.Host.Commands;
using Alicia.Host.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Alicia.Host.Tests;

/// <summary>
/// A real engine in process on a free loopback port, composed as <c>alicia run</c> composes it (gateway,
/// local tools, registry, Home Assistant, voice), and the commands against it: the data and key directories
/// come from the configuration or <c>ALICIA_</c> variables, and a second engine never takes the first one's place.
/// </summary>
public sealed class RunningEngineTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "alicia-engine-" + Guid.NewGuid().ToString("N"));
    private readonly int _port = FreePort.Next();
    private IHost? _host;
    private AliciaEngine? _engine;

    private string Keys => Path.Combine(_dir, "keys");
    private string Data => Path.Combine(_dir, "data");

    /// <summary>How the engine's own tools find it from anywhere: its directories in the environment.</summary>
    private Dictionary<string, string?> EngineEnvironment => new() { ["ALICIA_DataDirectory"] = Data, ["ALICIA_KeyDirectory"] = Keys };

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        var request = new ConfigurationRequest();
        request.Values["KeyDirectory"] = Keys;
        request.Values["DataDirectory"] = Data;
        request.Values["Broker:Port"] = _port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _host = RunCommand.BuildHost(ConfigurationLoader.LoadAll(request, new Dictionary<string, string?>()), LogLevel.Warning);
        _engine = _host.Services.GetRequiredService<AliciaEngine>();
        await _host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync();
            _host.Dispose();
        }
        Directory.Delete(_dir, recursive: true);
    }

    private static Task<(int Code, string Out, string Err)> Run(IDictionary<string, string?>? environment, params string[] args) => CliTests.Run(environment, args);

    [Fact]
    public async Task Ping_from_another_directory_authenticates_with_the_directories_from_the_environment()
    {
        // The test's working directory is not the engine's: without the variables the tool finds no password.
        (int code, string output, string error) = await Run(EngineEnvironment, "ping", "--port", _port.ToString(), "--timeout", "10");
        Assert.True(code == 0, error);
        Assert.Contains("pong from alicia-engine to alicia-cli", output);
        Assert.Contains("verified: SourceSigned", output);

        (code, output, error) = await Run(EngineEnvironment, "ping", "--port", _port.ToString(), "--timeout", "10", "--json");
        Assert.True(code == 0, error);
        Assert.Contains("pong from alicia-engine", output);
    }

    [Fact]
    public async Task Ping_with_the_directories_as_options_authenticates_too()
    {
        (int code, string output, string error) = await Run(null, "ping", "--port", _port.ToString(), "--data", Data, "--keys", Keys, "--timeout", "10");
        Assert.True(code == 0, error);
        Assert.Contains("pong from alicia-engine", output);
    }

    [Fact]
    public async Task Ping_without_the_engines_data_directory_says_where_the_password_was_looked_for()
    {
        string elsewhere = Path.Combine(_dir, "elsewhere");
        (int code, _, string error) = await Run(new Dictionary<string, string?> { ["ALICIA_DataDirectory"] = elsewhere, ["ALICIA_KeyDirectory"] = Keys },
            "ping", "--port", _port.ToString(), "--timeout", "10");
        Assert.Equal(1, code);
        Assert.Contains("0x87", error);
        Assert.Contains(Path.Combine(elsewhere, "local", "alicia-cli.password"), error);
        Assert.Contains("ALICIA_DataDirectory", error);
    }

    [Fact]
    public async Task A_second_engine_on_the_same_port_is_refused_naming_the_running_engine()
    {
        (int code, string output, string error) = await Run(EngineEnvironment, "run", "--port", _port.ToString());
        Assert.Equal(1, code);
        Assert.Contains($"another Alicia engine is already running on mqtt://127.0.0.1:{_port}", error);
        Assert.Contains("answered a signed ping: pong from alicia-engine", error);
        Assert.DoesNotContain("running;", output);
        await StillServesAsync();
    }

    [Fact]
    public async Task A_second_engine_pointed_at_the_running_one_with_broker_is_refused_instead_of_taking_over()
    {
        (int code, _, string error) = await Run(EngineEnvironment, "run", "--broker", $"mqtt://127.0.0.1:{_port}");
        Assert.Equal(1, code);
        Assert.Contains($"an Alicia engine named 'alicia-engine' is already running on mqtt://127.0.0.1:{_port}", error);
        Assert.Contains("would take over its MQTT session", error);
        await StillServesAsync();
    }

    [Fact]
    public async Task A_second_engine_that_cannot_ask_is_refused_by_the_running_engines_gateway()
    {
        // Other directories: no password, no trusted key, so no ping; its connection as 'alicia-engine' is refused.
        var strangers = new Dictionary<string, string?> { ["ALICIA_DataDirectory"] = Path.Combine(_dir, "b-data"), ["ALICIA_KeyDirectory"] = Path.Combine(_dir, "b-keys") };
        (int code, _, string error) = await Run(strangers, "run", "--broker", $"mqtt://127.0.0.1:{_port}");
        Assert.Equal(1, code);
        Assert.Contains("client id 'alicia-engine' is in use by the running Alicia engine 'alicia-engine'", error);
        await StillServesAsync();
    }

    /// <summary>The first engine kept its session: it answers, and its bus client never lost its connection.</summary>
    private async Task StillServesAsync()
    {
        (int code, string output, string error) = await Run(EngineEnvironment, "ping", "--port", _port.ToString(), "--timeout", "10");
        Assert.True(code == 0, error);
        Assert.Contains("pong from alicia-engine", output);
        Assert.True(_engine!.Bus.IsConnected);
        Assert.Equal(0, _engine.Bus.Reconnects);
    }
}

/// <summary><c>alicia run</c> itself: starts, says where, serves, and stops when cancelled (as on SIGTERM).</summary>
public sealed class RunCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "alicia-run-" + Guid.NewGuid().ToString("N"));

    public RunCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Run_prints_what_ci_greps_for_serves_and_stops()
    {
        int port = FreePort.Next();
        string config = Path.Combine(_dir, "alicia.json");
        File.WriteAllText(config, """{ "KeyDirectory": "keys", "DataDirectory": "data" }"""); // relative to the file's folder
        var stdout = new WatchedWriter();
        using var stop = new CancellationTokenSource();
        Task<string> running = stdout.WaitFor("Ctrl+C stops");
        Task<int> engine = Task.Run(() => Cli.RunAsync(["run", "--config", config, $"--Broker:Port={port}", "--Web:Port=0"], stdout, TextWriter.Null, new Dictionary<string, string?>(), stop.Token));
        Assert.True(await Task.WhenAny(running, engine).WaitAsync(Waits.Long) == running, "the engine did not start");

        string output = stdout.ToString();
        Assert.Contains($"alicia: engine 'alicia-engine' running; embedded MQTT 5 broker on mqtt://127.0.0.1:{port}", output);
        Assert.Contains($"keys in {Path.Combine(_dir, "keys")}", output);
        Assert.Contains($"data in {Path.Combine(_dir, "data")}", output);
        // The dashboard's URL is printed, and it serves.
        string dashboard = System.Text.RegularExpressions.Regex.Match(output, @"alicia: dashboard on (http://127\.0\.0\.1:\d+/)").Groups[1].Value;
        Assert.NotEqual("", dashboard);
        using (var http = new HttpClient()) Assert.Equal("ok\n", await http.GetStringAsync(new Uri(new Uri(dashboard), "healthz")));

        // Another tool with the same --config finds the same directories, wherever it runs.
        (int code, string pong, string error) = await CliTests.Run(null, "ping", "--config", config, "--port", port.ToString(), "--timeout", "10");
        Assert.True(code == 0, error);
        Assert.Contains("pong from alicia-engine", pong);

        Task<string> stopping = stdout.WaitFor("alicia: stopping");
        await stop.CancelAsync();
        Assert.Equal(0, await engine.WaitAsync(Waits.Long));
        await stopping.WaitAsync(Waits.Long);
    }
}

/// <summary>A writer that completes a task when a given text has been written.</summary>
internal sealed class WatchedWriter : TextWriter
{
    private readonly StringBuilder _text = new();
    private readonly List<(string Text, TaskCompletionSource<string> Done)> _waiters = [];

    public override Encoding Encoding => Encoding.UTF8;

    public Task<string> WaitFor(string text)
    {
        lock (_text)
        {
            var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_text.ToString().Contains(text, StringComparison.Ordinal)) done.SetResult(_text.ToString());
            else _waiters.Add((text, done));
            return done.Task;
        }
    }

    public override void Write(char value) => Append(value.ToString());

    public override void Write(string? value) => Append(value ?? "");

    public override void Write(char[] buffer, int index, int count) => Append(new string(buffer, index, count));

    public override void WriteLine(string? value) => Append((value ?? "") + NewLine);

    private void Append(string value)
    {
        lock (_text)
        {
            _text.Append(value);
            string all = _text.ToString();
            foreach (var waiter in _waiters.Where(w => all.Contains(w.Text, StringComparison.Ordinal)).ToList())
            {
                waiter.Done.SetResult(all);
                _waiters.Remove(waiter);
            }
        }
    }

    public override string ToString()
    {
        lock (_text) return _text.ToString();
    }
}
