using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Alicia.Integration.Tests;

/// <summary>
/// <c>alicia run</c> as a systemd <c>Type=notify</c> service: systemd hands the service a datagram socket in
/// <c>NOTIFY_SOCKET</c>; the engine says <c>READY=1</c> once it serves and <c>STOPPING=1</c> when told to stop.
/// This test plays systemd's part with a real Unix datagram socket.
/// </summary>
public sealed class SystemdTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "alicia-systemd-" + Guid.NewGuid().ToString("N"));

    public SystemdTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Under_systemd_the_engine_notifies_ready_once_serving_and_stopping_on_sigterm()
    {
        string socketPath = Path.Combine(_dir, "notify.sock");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(socketPath));

        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "alicia.dll"));
        foreach (string a in new[] { "run", "--port", "0", "--keys", Path.Combine(_dir, "keys"), "--Voice:Enabled=false" }) info.ArgumentList.Add(a);
        foreach (string key in info.Environment.Keys.Where(k => k.StartsWith("ALICIA_", StringComparison.Ordinal)).ToList()) info.Environment.Remove(key);
        info.Environment["NOTIFY_SOCKET"] = socketPath;
        using Process engine = Process.Start(info)!;
        var stdout = new StringBuilder();
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        engine.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stdout) stdout.AppendLine(e.Data);
            if (e.Data.Contains(" running; ", StringComparison.Ordinal)) running.TrySetResult();
        };
        engine.BeginOutputReadLine();
        engine.BeginErrorReadLine();
        try
        {
            string ready = await ReceiveAsync(notify);
            Assert.Contains("READY=1", ready);
            await running.Within();

            Process.Start("kill", ["-TERM", engine.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            string stopping = await ReceiveAsync(notify);
            Assert.Contains("STOPPING=1", stopping);
            await engine.WaitForExitAsync().WaitAsync(Waits.Long);
            Assert.Equal(0, engine.ExitCode);
            lock (stdout) Assert.Contains("alicia: stopping", stdout.ToString());
        }
        finally
        {
            if (!engine.HasExited) engine.Kill();
        }
    }

    private static async Task<string> ReceiveAsync(Socket socket)
    {
        byte[] buffer = new byte[1024];
        int n = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        return Encoding.UTF8.GetString(buffer, 0, n);
    }
}
