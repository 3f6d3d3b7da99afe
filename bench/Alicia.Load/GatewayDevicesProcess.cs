using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Alicia.Engine.Bus;

namespace Alicia.Load;

/// <summary>
/// The parent's side of <see cref="GatewayDevicesChild"/>: this same load tool started as a child process
/// (<c>dotnet Alicia.Load.dll gateway-devices-child ...</c>), driven line by line over stdin/stdout. Every wait is
/// bounded; disposing asks the child to exit and kills it (with its tree) if it has not within 10 s.
/// </summary>
internal sealed class GatewayDevicesProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly TextWriter _log;

    private GatewayDevicesProcess(Process process, TextWriter log)
    {
        _process = process;
        _log = log;
    }

    public int Id => _process.Id;

    /// <summary>
    /// Starts the child; it connects its devices to 127.0.0.1:<paramref name="port"/> with the keys in <paramref name="keysFile"/>
    /// and runs on the cores of <paramref name="cpuMask"/> (0: those it inherits from the thread that starts it).
    /// </summary>
    public static GatewayDevicesProcess Start(int port, string keysFile, QualityOfService qos, double rate, double durationSeconds, int warmup, TextWriter log, ulong cpuMask = 0)
    {
        string dll = typeof(GatewayDevicesProcess).Assembly.Location;
        // The dotnet host that runs this tool (or the one the SDK names, under a test host), else dotnet on the PATH.
        string host = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath!
            : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } named ? named : "dotnet";
        var info = new ProcessStartInfo(host)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (string arg in GatewayDevicesChild.Arguments(port, keysFile, qos, rate, durationSeconds, warmup, cpuMask)) info.ArgumentList.Add(arg);
        var process = new Process { StartInfo = info };
        var child = new GatewayDevicesProcess(process, log);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) child._lines.Writer.TryComplete();
            else child._lines.Writer.TryWrite(e.Data);
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.WriteLine($"[devices child] {e.Data}"); };
        if (!process.Start()) throw new InvalidOperationException($"{host} {dll} did not start");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>The child's next line that starts with <paramref name="word"/>, its rest; throws if the child ends or the time is up first.</summary>
    public async Task<string> WaitForAsync(string word, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (await _lines.Reader.WaitToReadAsync(cts.Token).ConfigureAwait(false))
            {
                while (_lines.Reader.TryRead(out string? line))
                {
                    if (line == word) return "";
                    if (line.StartsWith(word + " ", StringComparison.Ordinal)) return line[(word.Length + 1)..];
                    _log.WriteLine($"[devices child] {line}");
                }
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"the devices child did not say '{word}' within {timeout.TotalSeconds:0} s");
        }
        throw new InvalidOperationException($"the devices child ended before saying '{word}'");
    }

    /// <summary>Starts the measured phase in the child.</summary>
    public void Go() => Send("go");

    /// <summary>Waits for the child's <c>done</c> line: what it sent and its own CPU time in the phase.</summary>
    public async Task<ChildSendResult> WaitDoneAsync(TimeSpan timeout)
    {
        string rest = await WaitForAsync("done", timeout).ConfigureAwait(false);
        string[] parts = rest.Split(' ', 4);
        return new ChildSendResult(
            new SendResult(long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture), parts.Length > 3 ? parts[3] : null),
            double.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    private void Send(string line)
    {
        try
        {
            _process.StandardInput.WriteLine(line);
            _process.StandardInput.Flush();
        }
        catch (IOException) { }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                Send("exit");
                try { await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false); }
                catch (TimeoutException) { }
            }
        }
        finally
        {
            try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
            _process.Dispose();
        }
    }
}

/// <summary>The child's measured phase: what its devices sent, and the child process's CPU seconds during it.</summary>
internal readonly record struct ChildSendResult(SendResult Send, double CpuSeconds);
