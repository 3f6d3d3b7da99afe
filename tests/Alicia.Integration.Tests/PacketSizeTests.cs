using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security.Audit;
using Alicia.Engine.Security.Gateway;
using MQTTnet;
using MQTTnet.Protocol;

namespace Alicia.Integration.Tests;

/// <summary>
/// Issue 10, A2: a packet is refused from its fixed header, before the broker buffers it (16 KiB before
/// CONNECT is accepted, Security:MaxMessageBytes + 16 KiB after), and CONNACK announces the limit. The
/// attacks announce huge packets but send only a few KB, so the tests stay small.
/// </summary>
public sealed class PacketSizeTests : IAsyncLifetime
{
    private const int MaxMessageBytes = 256 * 1024;
    private const int MaxPacketBytes = MaxMessageBytes + 16 * 1024;
    private readonly TempDirectory _dir = new("alicia-pktsize");
    private readonly PasswordDirectory _directory = new();
    private TestEngine _test = null!;
    private AuditLog _audit = null!;
    private readonly List<IMqttClient> _clients = [];

    public async Task InitializeAsync()
    {
        _audit = new AuditLog(_dir.Sub("audit.db"));
        var gateway = new SecurityGateway(new GatewayOptions(), _directory, _audit);
        _test = await TestEngine.StartAsync(o => o.Security.MaxMessageBytes = MaxMessageBytes, e => e.AddService(gateway), directory: _dir);
        _directory.Add(new IdentityRecord("sensor-1", IdentityKind.Sensor, []), "pw-sensor-1");
    }

    public async Task DisposeAsync()
    {
        foreach (IMqttClient c in _clients) await c.CloseAsync();
        await _test.DisposeAsync();
        await _audit.DisposeAsync();
        _dir.Dispose();
    }

    private async Task<(IMqttClient, MqttClientConnectResult)> Connect(string clientId, Action<MqttClientOptionsBuilder>? configure = null)
    {
        IMqttClient client = new MqttClientFactory().CreateMqttClient();
        _clients.Add(client);
        MqttClientOptionsBuilder options = RawMqtt.Options(_test.Endpoint, clientId).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500);
        configure?.Invoke(options);
        return (client, await client.ConnectAsync(options.Build()));
    }

    [Fact]
    public async Task A_connect_announcing_200_MB_is_closed_after_a_few_KB_and_costs_no_memory()
    {
        (IMqttClient watcher, _) = await Connect("watcher-before");
        using var process = Process.GetCurrentProcess();
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        process.Refresh();
        long rssBefore = process.WorkingSet64;

        // One CONNECT announcing 200 MB, then four announcing 250 MB, each followed by 4 KB and no more.
        foreach (int announced in new[] { 200_000_000, 250_000_000, 250_000_000, 250_000_000, 250_000_000 })
            Assert.True(await SendsAndIsClosed(await Open(), Header(0x10, announced), 4096));

        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        process.Refresh();
        long rssGrowth = process.WorkingSet64 - rssBefore;
        Assert.True(allocated < 32 * 1024 * 1024, $"{allocated} bytes allocated during the attack");
        Assert.True(rssGrowth < 64 * 1024 * 1024, $"RSS grew by {rssGrowth} bytes");

        // Others keep being served, before and after.
        Assert.True(watcher.IsConnected);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS0, (await watcher.SubscribeAsync("alicia/#")).Items.Single().ResultCode);
        (IMqttClient after, MqttClientConnectResult result) = await Connect("watcher-after");
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        Assert.True(after.IsConnected);
    }

    [Fact]
    public async Task Connack_announces_maximum_packet_size_and_a_connect_with_a_will_fits()
    {
        (_, MqttClientConnectResult anonymous) = await Connect("anonymous-1");
        Assert.Equal(MqttClientConnectResultCode.Success, anonymous.ResultCode);
        Assert.Equal((uint)MaxPacketBytes, anonymous.MaximumPacketSize);
        // $share/... works on the embedded broker (it implements shared subscriptions), so the CONNACK says so.
        Assert.True(anonymous.SharedSubscriptionAvailable);

        // A CONNECT with credentials and an 8 KB will is under the 16 KiB limit before authentication.
        (IMqttClient sensor, MqttClientConnectResult result) = await Connect("sensor-1", o => o
            .WithCredentials("sensor-1", "pw-sensor-1")
            .WithWillTopic("alicia/device/sensor-1/status").WithWillPayload(new byte[8 * 1024]));
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        Assert.Equal((uint)MaxPacketBytes, result.MaximumPacketSize);
        Assert.True(sensor.IsConnected);

        // MQTT 3.1.1 has no property for it, but is served as before.
        (IMqttClient v3, MqttClientConnectResult v3Result) = await Connect("anonymous-v3", o => o.WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V311));
        Assert.Equal(MqttClientConnectResultCode.Success, v3Result.ResultCode);
        Assert.True(v3.IsConnected);
    }

    [Fact]
    public async Task A_connect_above_the_pre_authentication_limit_is_closed()
    {
        using Socket socket = await Open();
        Assert.True(await SendsAndIsClosed(socket, Header(0x10, 16 * 1024 + 1), 4096));
    }

    [Fact]
    public async Task An_authenticated_client_may_publish_up_to_MaxMessageBytes_and_is_disconnected_above_the_limit()
    {
        (IMqttClient sensor, _) = await Connect("sensor-1", o => o.WithCredentials("sensor-1", "pw-sensor-1"));
        (IMqttClient other, _) = await Connect("bystander");

        // A payload of MaxMessageBytes goes through the transport (the gateway answers it, the connection stays).
        MqttClientPublishResult full = await sensor.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic("alicia/device/sensor-1/data").WithPayload(new byte[MaxMessageBytes]).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        Assert.NotNull(full);
        Assert.True(sensor.IsConnected);

        // The same identity over a raw socket: CONNECT accepted, then a PUBLISH announcing one byte too many.
        await sensor.DisconnectAsync();
        using Socket socket = await Open();
        await socket.SendAsync(Connect5("sensor-1", "sensor-1", "pw-sensor-1"));
        byte[] connAck = await ReadPacket(socket);
        Assert.Equal(0x20, connAck[0]);
        Assert.Equal(0, ReasonCode(connAck)); // success
        int announced = MaxPacketBytes - 1 - 3 + 1; // total size = 1 + 3 length bytes + remaining
        Assert.True(await SendsAndIsClosed(socket, Header(0x30, announced), 4096));

        // Up to the limit exactly, the raw client stays connected.
        using Socket exact = await Open();
        await exact.SendAsync(Connect5("sensor-1", "sensor-1", "pw-sensor-1"));
        await ReadPacket(exact);
        await exact.SendAsync(Publish0("alicia/device/sensor-1/data", MaxPacketBytes));
        await exact.SendAsync(new byte[] { 0xC0, 0x00 }); // PINGREQ
        byte[] pong = await ReadPacket(exact);
        Assert.Equal(0xD0, pong[0]);

        Assert.True(other.IsConnected);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS0, (await other.SubscribeAsync("alicia/#")).Items.Single().ResultCode);
    }

    // --- raw MQTT ---

    private async Task<Socket> Open()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, _test.Port);
        return socket;
    }

    /// <summary>Sends the header and <paramref name="filler"/> bytes of body; true when the broker then closes without answering.</summary>
    private static async Task<bool> SendsAndIsClosed(Socket socket, byte[] header, int filler)
    {
        using (socket)
        {
            byte[] bytes = [.. header, .. new byte[filler]];
            try { await socket.SendAsync(bytes); }
            catch (SocketException) { return true; } // already reset
            byte[] buffer = new byte[256];
            try
            {
                int read = await socket.ReceiveAsync(buffer).WaitAsync(Waits.Long);
                return read == 0;
            }
            catch (SocketException) { return true; } // reset: closed with our bytes unread
        }
    }

    private static byte[] Header(byte type, int remainingLength)
    {
        var header = new List<byte> { type };
        do
        {
            byte b = (byte)(remainingLength % 128);
            remainingLength /= 128;
            if (remainingLength > 0) b |= 0x80;
            header.Add(b);
        } while (remainingLength > 0);
        return [.. header];
    }

    private static byte[] Str(string s)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(s);
        return [(byte)(utf8.Length >> 8), (byte)utf8.Length, .. utf8];
    }

    private static byte[] Connect5(string clientId, string user, string password)
    {
        byte[] body = [.. Str("MQTT"), 5, 0xC2, 0, 60, 0, .. Str(clientId), .. Str(user), .. Str(password)];
        return [.. Header(0x10, body.Length), .. body];
    }

    /// <summary>A QoS 0 PUBLISH whose total size is exactly <paramref name="totalSize"/>.</summary>
    private static byte[] Publish0(string topic, int totalSize)
    {
        byte[] head = [.. Str(topic), 0]; // topic, empty properties
        int remaining = totalSize - 1 - 3;
        return [.. Header(0x30, remaining), .. head, .. new byte[remaining - head.Length]];
    }

    private static async Task<byte[]> ReadPacket(Socket socket)
    {
        var packet = new List<byte>();
        byte[] one = new byte[1];
        async Task<byte> Next()
        {
            int n = await socket.ReceiveAsync(one).WaitAsync(Waits.Long);
            if (n == 0) throw new IOException("closed");
            packet.Add(one[0]);
            return one[0];
        }
        await Next();
        int remaining = 0, multiplier = 1;
        byte b;
        do
        {
            b = await Next();
            remaining += (b & 0x7F) * multiplier;
            multiplier *= 128;
        } while ((b & 0x80) != 0);
        for (int i = 0; i < remaining; i++) await Next();
        return [.. packet];
    }

    /// <summary>The CONNACK's reason code (after the fixed header and the acknowledge flags).</summary>
    private static byte ReasonCode(byte[] connAck)
    {
        int headerLength = 2;
        while ((connAck[headerLength - 1] & 0x80) != 0) headerLength++;
        return connAck[headerLength + 1];
    }
}
