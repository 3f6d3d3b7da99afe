using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Alicia.Host.Tests;

/// <summary>Issue 10 A7: <c>alicia voice send</c> hung past its <c>--timeout</c> when the engine's bus was down.</summary>
public sealed class VoiceTimeoutTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "alicia-voice-timeout-" + Guid.NewGuid().ToString("N"));

    public VoiceTimeoutTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Voice_send_ends_within_its_timeout_when_the_broker_accepts_the_connection_and_never_answers()
    {
        // A "bus" that is down in the worst way: the port accepts TCP, and nothing ever answers the MQTT CONNECT.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var held = new List<TcpClient>();
        using var stop = new CancellationTokenSource();
        Task accepting = Task.Run(async () =>
        {
            try { while (true) held.Add(await silent.AcceptTcpClientAsync(stop.Token)); }
            catch (OperationCanceledException) { }
        });
        int port = ((IPEndPoint)silent.LocalEndpoint).Port;
        string wav = Path.Combine(_dir, "a.wav");
        WriteSilenceWav(wav, 16000, 8000);
        var environment = new Dictionary<string, string?>
        {
            ["ALICIA_DataDirectory"] = Path.Combine(_dir, "data"),
            ["ALICIA_KeyDirectory"] = Path.Combine(_dir, "keys"),
        };

        var watch = Stopwatch.StartNew();
        (int code, _, string error) = await CliTests.Run(environment, "voice", "send", wav, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--timeout", "2")
            .WaitAsync(TimeSpan.FromSeconds(30));
        watch.Stop();

        Assert.Equal(1, code);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(6), $"took {watch.Elapsed.TotalSeconds:0.0} s with --timeout 2: {error}");
        Assert.Contains("alicia voice:", error);
        await stop.CancelAsync();
        silent.Stop();
        await accepting;
        foreach (TcpClient c in held) c.Dispose();
    }

    internal static void WriteSilenceWav(string path, int sampleRate, int samples)
    {
        using var w = new BinaryWriter(File.Create(path));
        w.Write("RIFF"u8); w.Write(36 + samples * 2); w.Write("WAVE"u8);
        w.Write("fmt "u8); w.Write(16); w.Write((short)1); w.Write((short)1); w.Write(sampleRate); w.Write(sampleRate * 2); w.Write((short)2); w.Write((short)16);
        w.Write("data"u8); w.Write(samples * 2); w.Write(new byte[samples * 2]);
    }
}
