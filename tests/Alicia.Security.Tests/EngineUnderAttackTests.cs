using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Contracts.Serialization;
using Alicia.Engine.Bus;
using Alicia.Host.Commands;
using MQTTnet;
using MQTTnet.Protocol;

namespace Alicia.Security.Tests;

/// <summary>
/// Issue 10, "done when": <c>alicia run</c> as a real process, under the attacks of part A over real sockets on loopback
/// (client-id takeovers of the engine and of the CLI, CONNECTs announcing 250 MB each, a denied-publish flood, forged
/// envelopes with unique strings), keeps answering <c>alicia ping</c> throughout, and its resident memory stays within
/// 64 MB of its idle figure.
/// </summary>
public sealed partial class EngineUnderAttackTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private const long AllowedGrowthKb = 64 * 1024;
    private readonly TempDirectory _dir = new("alicia-attack");

    public void Dispose() => _dir.Dispose();

    private static string AliciaDll => Path.Combine(AppContext.BaseDirectory, "alicia.dll");

    [GeneratedRegex(@"mqtt://127\.0\.0\.1:(\d+)")]
    private static partial Regex ListenLine();

    /// <summary>The child's resident set (VmRSS) in kB, from /proc.</summary>
    private static long RssKb(int pid)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line["VmRSS:".Length..].Replace("kB", "", StringComparison.Ordinal).Trim(), CultureInfo.InvariantCulture);
        }
        throw new InvalidOperationException("no VmRSS in /proc/" + pid + "/status");
    }

    private async Task<(int Code, string Output)> Ping(int port)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await Cli.RunAsync(["ping", "--port", port.ToString(CultureInfo.InvariantCulture), "--keys", _dir.Keys, "--data", _dir.Data, "--timeout", "10"],
            stdout, stderr, new Dictionary<string, string?>());
        return (code, stdout.ToString() + stderr);
    }

    [Fact]
    public async Task The_engine_answers_ping_throughout_the_part_A_attacks_and_its_memory_stays_near_idle()
    {
        if (OperatingSystem.IsWindows()) return; // /proc: Linux only (the CI and the target machines)
        await using ChildProcess engine = ChildProcess.Start("dotnet", [AliciaDll, "run", "--port", "0", "--keys", _dir.Keys, "--data", _dir.Data], info =>
        {
            info.WorkingDirectory = _dir.Path;
            foreach (string key in info.Environment.Keys.Where(k => k.StartsWith("ALICIA_", StringComparison.Ordinal)).ToList()) info.Environment.Remove(key);
        });
        string listening = await engine.WaitForLineAsync(line => ListenLine().IsMatch(line), TimeSpan.FromSeconds(60), OutputStream.StandardOutput);
        int port = int.Parse(ListenLine().Match(listening).Groups[1].Value, CultureInfo.InvariantCulture);
        var endpoint = BrokerEndpoint.Tcp("127.0.0.1", port);

        var pings = new List<(string Phase, int Code, string Output)>();
        async Task PingAs(string phase)
        {
            (int code, string output) = await Ping(port);
            lock (pings) pings.Add((phase, code, output));
        }
        await PingAs("warm-up");
        long idle = RssKb(engine.Id);
        long peak = idle;
        void Sample() => peak = Math.Max(peak, RssKb(engine.Id));

        // A1: anonymous takeovers of the engine's and the CLI's client ids.
        foreach (string reserved in (string[])["alicia-engine", "alicia-cli", "alicia-engine", "alicia-cli", "alicia-engine"])
        {
            try
            {
                IMqttClient intruder = await RawMqtt.ConnectAsync(endpoint, reserved);
                await CloseQuietly(intruder);
            }
            catch (MQTTnet.Exceptions.MqttCommunicationException) { } // refused (MqttConnectingFailedException) or cut off: as it should be
        }
        await PingAs("after takeovers");
        Sample();

        // A2: four CONNECTs announcing 250 MB each; only the fixed header and 1 KB are sent, on four sockets at once.
        Task oversized = Task.WhenAll(Enumerable.Range(0, 4).Select(_ => OversizedConnect(port)));
        await PingAs("during oversized connects");
        await oversized;
        Sample();
        await PingAs("after oversized connects");

        // A4: a denied-publish flood (bounded in count and time), with pings while it runs.
        Task<int> flood = DeniedFlood(endpoint, maxMessages: 20_000, maxTime: TimeSpan.FromSeconds(10));
        await PingAs("during denied flood");
        int denied = await flood;
        Sample();
        await PingAs("after denied flood");

        // A8: forged envelopes with unique strings, from the simulator's identity (it may publish on alicia/devices/#).
        Task<int> forgedFlood = ForgedFlood(endpoint, count: 300);
        await PingAs("during forged flood");
        int forged = await forgedFlood;
        Sample();
        await PingAs("after forged flood");

        GC.KeepAlive(engine);
        long after = RssKb(engine.Id);
        peak = Math.Max(peak, after);
        output.WriteLine($"RSS idle {idle} kB, peak {peak} kB, after {after} kB; {denied} denied publishes and {forged} forged envelopes sent before each client was cut off");
        foreach ((string phase, int code, string output) in pings)
        {
            Assert.True(code == 0, $"ping {phase}: exit {code}: {output}");
            Assert.Contains("pong from alicia-engine", output);
        }
        Assert.Equal(8, pings.Count);
        Assert.True(peak - idle <= AllowedGrowthKb, $"RSS grew from {idle} kB idle to {peak} kB under attack (allowed: {AllowedGrowthKb} kB)");
        Assert.False(engine.HasExited, engine.Log);
    }

    /// <summary>A CONNECT whose fixed header announces 250 MB, followed by 1 KB of body; waits (bounded) for the engine to close it.</summary>
    private static async Task OversizedConnect(int port)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        NetworkStream stream = tcp.GetStream();
        byte[] header = [0x10, .. RemainingLength(250_000_000)];
        try
        {
            await stream.WriteAsync(header);
            await stream.WriteAsync(new byte[1024]);
            byte[] buffer = new byte[256];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            while (await stream.ReadAsync(buffer, timeout.Token) > 0) { } // the engine refuses and closes
        }
        catch (IOException) { } // reset by the engine: refused before it buffered the packet
        catch (OperationCanceledException) { } // still open after 15 s: the RSS assertion tells whether it was buffered
    }

    /// <summary>Closes a client the engine may have cut off already (a broken pipe is the expected end of a flood).</summary>
    private static async Task CloseQuietly(IMqttClient client)
    {
        try { await client.CloseAsync(); }
        catch (MQTTnet.Exceptions.MqttCommunicationException) { client.Dispose(); }
    }

    private static byte[] RemainingLength(int value)
    {
        var bytes = new List<byte>();
        do
        {
            byte b = (byte)(value % 128);
            value /= 128;
            if (value > 0) b |= 0x80;
            bytes.Add(b);
        }
        while (value > 0);
        return [.. bytes];
    }

    /// <summary>An anonymous client publishing where it may not, until it is cut off, the count is reached or the time is up.</summary>
    private static async Task<int> DeniedFlood(BrokerEndpoint endpoint, int maxMessages, TimeSpan maxTime)
    {
        IMqttClient client;
        try { client = await RawMqtt.ConnectAsync(endpoint, "flooder-1"); }
        catch (MQTTnet.Exceptions.MqttCommunicationException) { return 0; }
        int sent = 0;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        byte[] payload = new byte[200];
        try
        {
            for (; sent < maxMessages && watch.Elapsed < maxTime && client.IsConnected; sent++)
                await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("alicia/devices/victim/command").WithPayload(payload).Build());
        }
        catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException or OperationCanceledException) { } // disconnected and banned
        finally
        {
            await CloseQuietly(client);
        }
        return sent;
    }

    /// <summary>Envelopes claiming the simulator's devices, with unique strings and random signatures, from the simulator's own login.</summary>
    private async Task<int> ForgedFlood(BrokerEndpoint endpoint, int count)
    {
        int sent = 0;
        string password = Alicia.Tools.LocalTools.EnsurePassword(_dir.Data, Alicia.Tools.LocalTools.Simulator);
        IMqttClient client;
        try { client = await RawMqtt.ConnectAsync(endpoint, Alicia.Tools.LocalTools.Simulator, o => o.WithCredentials(Alicia.Tools.LocalTools.Simulator, password)); }
        catch (MQTTnet.Exceptions.MqttCommunicationException) { return 0; }
        try
        {
            for (int i = 0; i < count && client.IsConnected; i++, sent++)
            {
                string unique = "forged-" + i.ToString(CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N");
                var envelope = new Envelope<DeviceData>(EnvelopeHeader.Create(unique, "broadcast", MessageKind.Event, TimeProvider.System), new DeviceData { Values = { [unique] = i } });
                var output = new ArrayBufferWriter<byte>();
                var writer = new MsgPackWriter(output);
                EnvelopeCodec.Write(ref writer, envelope, reserveSignature: true);
                writer.Flush();
                byte[] bytes = output.WrittenSpan.ToArray();
                System.Security.Cryptography.RandomNumberGenerator.Fill(bytes.AsSpan(bytes.Length - EnvelopeCodec.SignatureLength));
                await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(DeviceData.BuildTopic(unique)).WithPayload(bytes)
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithContentType(AliciaBus.MessagePackContentType).Build());
            }
        }
        catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException or OperationCanceledException) { } // disconnected and banned
        finally
        {
            await CloseQuietly(client);
        }
        return sent;
    }
}
