using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Alicia.TestSupport;

/// <summary>Which of a program's output streams a wait listens to.</summary>
public enum OutputStream
{
    Any,
    StandardOutput,
    StandardError,
}

/// <summary>What a finished program said and how it ended.</summary>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Both streams, standard output first: for assertion messages and for tools that report on either.</summary>
    public string Output => StandardOutput + StandardError;
}

/// <summary>
/// A program started by a test, its standard output and error read line by line. Tests wait on what it says
/// (<see cref="WaitForLineAsync"/>) or on its exit, never for a fixed time: a wait completes on the line, fails
/// at once (with everything the program said) when the program ends without saying it, and the timeout only
/// bounds a failing test. Disposing kills what is still running.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Lock _gate = new();
    private readonly List<(string Line, OutputStream Stream)> _lines = [];
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly List<(Func<string, bool> Match, OutputStream Stream, TaskCompletionSource<string> Found)> _waiters = [];
    private readonly TaskCompletionSource _outputClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _errorClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ChildProcess(Process process) => _process = process;

    /// <summary>Starts <paramref name="program"/> with <paramref name="arguments"/> (each passed as is, no shell).</summary>
    public static ChildProcess Start(string program, IEnumerable<string> arguments, Action<ProcessStartInfo>? configure = null)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments) info.ArgumentList.Add(argument);
        configure?.Invoke(info);
        var child = new ChildProcess(new Process { StartInfo = info });
        child._process.OutputDataReceived += (_, e) => child.OnLine(e.Data, OutputStream.StandardOutput, child._stdout, child._outputClosed);
        child._process.ErrorDataReceived += (_, e) => child.OnLine(e.Data, OutputStream.StandardError, child._stderr, child._errorClosed);
        if (!child._process.Start()) throw new InvalidOperationException($"{program} did not start");
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs a program to its end and returns what it said; kills it and throws if it outlives <paramref name="timeout"/>.</summary>
    public static async Task<ProcessResult> RunAsync(string program, IEnumerable<string> arguments, TimeSpan? timeout = null, Action<ProcessStartInfo>? configure = null)
    {
        await using ChildProcess child = Start(program, arguments, configure);
        int exitCode = await child.WaitForExitAsync(timeout ?? TimeSpan.FromSeconds(60));
        return new ProcessResult(exitCode, child.StandardOutput, child.StandardError);
    }

    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;

    public string StandardOutput { get { lock (_gate) return _stdout.ToString(); } }
    public string StandardError { get { lock (_gate) return _stderr.ToString(); } }

    /// <summary>Every line so far from both streams, in the order they were read.</summary>
    public string Log { get { lock (_gate) return string.Join('\n', _lines.Select(l => l.Line)); } }

    /// <summary>
    /// The first line (already said, or said later, on <paramref name="stream"/>) that <paramref name="match"/> accepts.
    /// Fails when the program ends without saying it, or after <paramref name="timeout"/>; the exception carries the log.
    /// </summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan? timeout = null, OutputStream stream = OutputStream.Any)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        bool ended = false;
        lock (_gate)
        {
            foreach ((string line, OutputStream from) in _lines)
            {
                if (Listens(stream, from) && match(line)) return line;
            }
            if (_outputClosed.Task.IsCompleted && _errorClosed.Task.IsCompleted) ended = true;
            else _waiters.Add((match, stream, found));
        }
        if (ended) throw Ended();
        try
        {
            return await found.Task.WaitAsync(timeout ?? Waits.Long).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{_process.StartInfo.FileName} did not say the expected line within {(timeout ?? Waits.Long).TotalSeconds:0.#} s; it said:\n{Log}");
        }
    }

    /// <summary>Waits for the program to end and for everything it wrote to be read; kills it and throws after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        TimeSpan limit = timeout ?? Waits.Long;
        try
        {
            await Task.WhenAll(_process.WaitForExitAsync(), _outputClosed.Task, _errorClosed.Task).WaitAsync(limit).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Kill();
            throw new TimeoutException($"{_process.StartInfo.FileName} did not end within {limit.TotalSeconds:0.#} s; it said:\n{Log}");
        }
        return _process.ExitCode;
    }

    /// <summary>User + system CPU time the program has used so far, or null once it can no longer be read.</summary>
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

    /// <summary>Sends SIGTERM, as a service manager stopping the program would.</summary>
    public void Terminate()
    {
        using Process kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]) ?? throw new InvalidOperationException("kill did not start");
        kill.WaitForExit();
    }

    /// <summary>SIGKILL to the program and everything it started.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It ended meanwhile.
        }
    }

    private static bool Listens(OutputStream wanted, OutputStream from) => wanted == OutputStream.Any || wanted == from;

    private void OnLine(string? line, OutputStream from, StringBuilder stream, TaskCompletionSource closed)
    {
        List<TaskCompletionSource<string>> found = [];
        List<TaskCompletionSource<string>> orphaned = [];
        lock (_gate)
        {
            if (line is null)
            {
                closed.TrySetResult();
                if (_outputClosed.Task.IsCompleted && _errorClosed.Task.IsCompleted)
                {
                    orphaned.AddRange(_waiters.Select(w => w.Found));
                    _waiters.Clear();
                }
            }
            else
            {
                _lines.Add((line, from));
                stream.AppendLine(line);
                for (int i = _waiters.Count - 1; i >= 0; i--)
                {
                    if (!Listens(_waiters[i].Stream, from) || !_waiters[i].Match(line)) continue;
                    found.Add(_waiters[i].Found);
                    _waiters.RemoveAt(i);
                }
            }
        }
        foreach (TaskCompletionSource<string> f in found) f.TrySetResult(line!);
        if (orphaned.Count > 0)
        {
            Exception ended = Ended();
            foreach (TaskCompletionSource<string> o in orphaned) o.TrySetException(ended);
        }
    }

    private InvalidOperationException Ended() =>
        new($"{_process.StartInfo.FileName} ended{(_process.HasExited ? $" (exit code {_process.ExitCode})" : "")} without saying the expected line; it said:\n{Log}");

    public async ValueTask DisposeAsync()
    {
        Kill();
        try { await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false); }
        catch (TimeoutException) { }
        _process.Dispose();
    }
}
