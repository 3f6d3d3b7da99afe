using System.Diagnostics;
using Alicia.Engine.Bus;

namespace Alicia.Integration.Tests.Fixtures;

/// <summary>
/// A real Mosquitto 2 broker on a loopback port, shared by a test class. Started from a generated
/// configuration; the fixture waits for Mosquitto's own "running" log line, not for a fixed time.
/// </summary>
public sealed class MosquittoFixture : IAsyncLifetime, IAsyncDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "alicia-mosquitto-" + Guid.NewGuid().ToString("N"));
    private Process? _process;

    public int Port { get; private set; }
    public BrokerEndpoint Endpoint => BrokerEndpoint.Tcp("127.0.0.1", Port);

    public static string Binary =>
        new[] { "/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("mosquitto is not installed: the integration suite needs it (apt-get install mosquitto; scripts/test.sh installs it)");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        Port = FreePort.Next();
        string config = Path.Combine(_dir, "mosquitto.conf");
        await File.WriteAllTextAsync(config, $"""
            listener {Port} 127.0.0.1
            allow_anonymous true
            set_tcp_nodelay true
            max_queued_messages 1000000
            persistence false
            log_dest stderr
            log_type error
            log_type warning
            log_type notice
            log_type information
            """);
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new System.Text.StringBuilder();
        _process = new Process
        {
            StartInfo = new ProcessStartInfo(Binary, ["-c", config]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false },
            EnableRaisingEvents = true,
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (log) log.AppendLine(e.Data);
            if (e.Data.Contains(" running", StringComparison.Ordinal)) running.TrySetResult();
        };
        _process.Exited += (_, _) => running.TrySetException(new InvalidOperationException($"mosquitto exited early:\n{log}"));
        _process.Start();
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        await running.Task.WaitAsync(TimeSpan.FromSeconds(15));
    }

    ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());

    public Task DisposeAsync()
    {
        if (_process is { HasExited: false }) _process.Kill(entireProcessTree: true);
        _process?.WaitForExit(5000);
        _process?.Dispose();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }
}
