using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Alicia.Engine.Security.Identity;
using MQTTnet;
using MQTTnet.Formatter;

namespace Alicia.Security.Tests;

/// <summary>A fresh directory per test, removed afterwards.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "alicia-sec-" + Guid.NewGuid().ToString("N")[..10]);

    public TempDir() => Directory.CreateDirectory(Path);

    public string Data => System.IO.Path.Combine(Path, "data");
    public string Keys => System.IO.Path.Combine(Path, "keys");

    /// <summary>Configuration options every command gets: this test's data and key directories.</summary>
    public string[] Options => ["--DataDirectory", Data, "--keys", Keys];

    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}

internal static class UnixModes
{
    public static UnixFileMode Of(string path) =>
        OperatingSystem.IsWindows() ? throw new PlatformNotSupportedException() : File.GetUnixFileMode(path) & (UnixFileMode)0x1FF;
}

/// <summary>A command's exit code and output.</summary>
internal sealed record CommandRun(int Exit, string Out, string Err)
{
    public static CommandRun Of(Func<TextWriter, TextWriter, int> command)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = command(stdout, stderr);
        return new CommandRun(exit, stdout.ToString(), stderr.ToString());
    }
}

/// <summary>MQTTnet clients over TLS with (or without) a client certificate.</summary>
internal static class TlsClients
{
    public static MqttClientOptions Options(int port, string clientId, X509Certificate2? clientCertificate, X509Certificate2 trustedRoot,
        SslProtocols protocols = SslProtocols.Tls13, string? username = null)
    {
        var validator = CertificateAuthority.CreateServerValidator(trustedRoot);
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", port)
            .WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithTimeout(TimeSpan.FromSeconds(10))
            .WithTlsOptions(o =>
            {
                o.UseTls().WithSslProtocols(protocols)
                    .WithCertificateValidationHandler(e => validator(e, e.Certificate, e.Chain, e.SslPolicyErrors));
                if (clientCertificate is not null) o.WithClientCertificates([clientCertificate]);
            });
        if (username is not null) builder.WithCredentials(username, "");
        return builder.Build();
    }

    /// <summary>Connects, or returns the failure (TLS refusal, connection reset, CONNACK reason).</summary>
    public static async Task<(IMqttClient? Client, string? Error)> TryConnect(MqttClientOptions options)
    {
        IMqttClient client = new MqttClientFactory().CreateMqttClient();
        try
        {
            MqttClientConnectResult result = await client.ConnectAsync(options);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                client.Dispose();
                return (null, result.ResultCode.ToString());
            }
            // Under TLS 1.3 a server that dislikes the client certificate says so after the client's handshake
            // finished; a round trip proves the session is really up.
            await client.PingAsync();
            return (client, null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            client.Dispose();
            return (null, e.GetType().Name + ": " + e.Message);
        }
    }
}

/// <summary>Mosquitto started with a given configuration file; waits for its "running" log line.</summary>
public sealed class MosquittoProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _log = new();

    private MosquittoProcess(Process process) => _process = process;

    public string Log { get { lock (_log) return _log.ToString(); } }

    public static string Binary =>
        new[] { "/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("mosquitto is not installed: these tests need it (apt-get install mosquitto; scripts/test.sh installs it)");

    public static async Task<MosquittoProcess> StartAsync(string configFile)
    {
        var process = new Process
        {
            StartInfo = new ProcessStartInfo(Binary, ["-c", configFile]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false },
            EnableRaisingEvents = true,
        };
        var m = new MosquittoProcess(process);
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(object? _, DataReceivedEventArgs e)
        {
            if (e.Data is null) return;
            lock (m._log) m._log.AppendLine(e.Data);
            if (e.Data.Contains(" running", StringComparison.Ordinal)) running.TrySetResult();
        }
        process.ErrorDataReceived += OnLine;
        process.OutputDataReceived += OnLine;
        process.Exited += (_, _) => running.TrySetException(new InvalidOperationException($"mosquitto exited early:\n{m.Log}"));
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        await running.Task.WaitAsync(TimeSpan.FromSeconds(15));
        return m;
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit(5000);
        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}
