using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Alicia.Load;

/// <summary>A mosquitto broker as a child process on a free loopback port, with a generated config.</summary>
internal sealed class MosquittoProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private MosquittoProcess(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }
    public int ProcessId => _process.Id;

    public static async Task<MosquittoProcess> StartAsync(string binary, TimeSpan timeout)
    {
        if (!File.Exists(binary)) throw new FileNotFoundException($"mosquitto not found at {binary} (apt-get install mosquitto, or --mosquitto PATH)");
        int port = FreeLoopbackPort();
        string directory = Directory.CreateTempSubdirectory("alicia-load-mosquitto-").FullName;
        string config = Path.Combine(directory, "mosquitto.conf");
        File.WriteAllText(config, string.Create(CultureInfo.InvariantCulture, $"""
            listener {port} 127.0.0.1
            allow_anonymous true
            set_tcp_nodelay true
            max_queued_messages 1000000
            persistence false
            log_dest stderr
            log_type error
            log_type warning
            log_type notice
            log_type information
            """) + "\n");

        var info = new ProcessStartInfo(binary, ["-c", config])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new List<string>();
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        DataReceivedEventHandler onLine = (_, e) =>
        {
            if (e.Data is null) return;
            lock (log) { if (log.Count < 200) log.Add(e.Data); }
            if (e.Data.Contains(" running", StringComparison.Ordinal)) running.TrySetResult();
        };
        process.ErrorDataReceived += onLine;
        process.OutputDataReceived += onLine;
        process.Exited += (_, _) => running.TrySetException(new InvalidOperationException($"mosquitto exited with code {SafeExitCode(process)}: {string.Join(" | ", Snapshot(log))}"));
        if (!process.Start()) throw new InvalidOperationException("mosquitto did not start");
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var mosquitto = new MosquittoProcess(process, directory, port);
        try
        {
            await running.Task.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await mosquitto.DisposeAsync().ConfigureAwait(false);
            throw new TimeoutException($"mosquitto did not log 'running' within {timeout.TotalSeconds:0} s: {string.Join(" | ", Snapshot(log))}");
        }
        catch
        {
            await mosquitto.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return mosquitto;
    }

    /// <summary>User + system CPU time of the broker process so far (from /proc), or null when unreadable.</summary>
    public TimeSpan? CpuTime()
    {
        try
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return null;
        }
    }

    private static string[] Snapshot(List<string> log)
    {
        lock (log) return [.. log];
    }

    private static string SafeExitCode(Process p)
    {
        try { return p.ExitCode.ToString(CultureInfo.InvariantCulture); }
        catch (InvalidOperationException) { return "?"; }
    }

    private static int FreeLoopbackPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: false);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                try { await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { }
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
        try { Directory.Delete(_directory, recursive: true); }
        catch (IOException) { }
    }
}
