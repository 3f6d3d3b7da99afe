using System.IO.Pipelines;
using System.Net;
using Alicia.Engine.Bus.Transport;
using System.Buffers;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace Alicia.Engine.Tests.Bus;

/// <summary>
/// The broker's pipe transport on its own: a connection is two in-memory pipes; the client's end encodes with
/// MQTTnet's own MQTT 5 formatter and decodes through a second, unlimited adapter.
/// </summary>
public sealed class MqttPipeAdapterTests
{
    private static readonly IPEndPoint Local = new(IPAddress.Loopback, 1883);
    private static readonly PacketLimits Limits = new(BeforeConnect: 16 * 1024, AfterConnect: 64 * 1024);

    private sealed class Connection
    {
        public readonly Pipe ToServer = new(new PipeOptions(pauseWriterThreshold: 0));
        public readonly Pipe ToClient = new(new PipeOptions(pauseWriterThreshold: 0));
        public readonly List<(long Announced, long Limit)> Refused = [];
        public readonly PacketTaps Taps = new();
        public readonly MqttPipeAdapter Server;
        public readonly MqttPipeAdapter ClientReader;
        private readonly MqttPacketFormatterAdapter _clientFormatter = Formatter(MqttProtocolVersion.V500);

        public Connection(PacketLimits? limits = null)
        {
            Server = new MqttPipeAdapter(ToServer.Reader, ToClient.Writer, new MqttPacketFormatterAdapter(new MqttBufferWriter(4096, 65536)),
                Local, Local, limits: limits, taps: Taps, refused: (a, l) => Refused.Add((a, l)));
            ClientReader = new MqttPipeAdapter(ToClient.Reader, new Pipe().Writer, Formatter(MqttProtocolVersion.V500), Local, Local);
        }

        /// <summary>The bytes a client would send for <paramref name="packet"/>.</summary>
        public byte[] Encode(MqttPacket packet)
        {
            try { return _clientFormatter.Encode(packet).Join().ToArray(); }
            finally { _clientFormatter.Cleanup(); }
        }

        public async Task SendRawAsync(byte[] bytes)
        {
            await ToServer.Writer.WriteAsync(bytes);
        }
    }

    private static MqttPacketFormatterAdapter Formatter(MqttProtocolVersion version) => new(version, new MqttBufferWriter(4096, 65536));

    private static MqttConnectPacket Connect(string clientId) => new() { ClientId = clientId, CleanSession = true, KeepAlivePeriod = 30 };

    private static MqttPublishPacket Publish(string topic, int payloadBytes, ushort id = 0) => new()
    {
        Topic = topic,
        PayloadSegment = new ArraySegment<byte>(Enumerable.Range(0, payloadBytes).Select(i => (byte)i).ToArray()),
        QualityOfServiceLevel = id == 0 ? MqttQualityOfServiceLevel.AtMostOnce : MqttQualityOfServiceLevel.AtLeastOnce,
        PacketIdentifier = id,
    };

    [Fact]
    public async Task A_packet_that_arrives_byte_by_byte_decodes_whole_and_packets_already_buffered_come_without_waiting()
    {
        var c = new Connection();
        byte[] connect = c.Encode(Connect("dribbler"));
        Task<MqttPacket> first = c.Server.ReceivePacketAsync(CancellationToken.None);
        foreach (byte b in connect)
        {
            Assert.False(first.IsCompleted);
            await c.SendRawAsync([b]);
        }
        Assert.Equal("dribbler", Assert.IsType<MqttConnectPacket>(await first).ClientId);

        // Three publishes in one write: all three are decoded from the buffer, each returned already complete.
        byte[] burst = [.. c.Encode(Publish("a/1", 10)), .. c.Encode(Publish("a/2", 3000)), .. c.Encode(Publish("a/3", 0))];
        await c.SendRawAsync(burst);
        Assert.Equal("a/1", Assert.IsType<MqttPublishPacket>(await c.Server.ReceivePacketAsync(CancellationToken.None)).Topic);
        Task<MqttPacket> second = c.Server.ReceivePacketAsync(CancellationToken.None);
        Task<MqttPacket> third = c.Server.ReceivePacketAsync(CancellationToken.None);
        Assert.True(second.IsCompletedSuccessfully && third.IsCompletedSuccessfully);
        var big = Assert.IsType<MqttPublishPacket>(await second);
        Assert.Equal(("a/2", 3000L), (big.Topic, big.Payload.Length));
        Assert.Equal(Enumerable.Range(0, 3000).Select(i => (byte)i), big.Payload.ToArray());
        var empty = Assert.IsType<MqttPublishPacket>(await third);
        Assert.Equal(("a/3", 0L), (empty.Topic, empty.Payload.Length));
        Assert.Equal(connect.Length + burst.Length, c.Server.BytesReceived);
    }

    [Fact]
    public async Task A_payload_spread_over_many_pipe_segments_is_copied_out_intact()
    {
        var c = new Connection(Limits);
        await c.SendRawAsync(c.Encode(Connect("big")));
        await c.Server.ReceivePacketAsync(CancellationToken.None);
        await c.Server.SendPacketAsync(new MqttConnAckPacket { ReasonCode = MqttConnectReasonCode.Success }, CancellationToken.None);

        byte[] publish = c.Encode(Publish("big/one", 60 * 1024));
        for (int at = 0; at < publish.Length; at += 1000) await c.SendRawAsync(publish[at..Math.Min(publish.Length, at + 1000)]);
        var packet = Assert.IsType<MqttPublishPacket>(await c.Server.ReceivePacketAsync(CancellationToken.None));
        Assert.Equal(Enumerable.Range(0, 60 * 1024).Select(i => (byte)i), packet.Payload.ToArray());
    }

    [Fact]
    public async Task A_packet_above_the_limit_is_refused_from_its_fixed_header_before_its_body_arrives()
    {
        var c = new Connection(Limits);
        // A CONNECT announcing 200 MB, followed by a few bytes only: refused without waiting for (or buffering) the rest.
        await c.SendRawAsync([0x10, 0x80, 0x84, 0xAF, 0x5F, 1, 2, 3]);
        Assert.Null(await c.Server.ReceivePacketAsync(CancellationToken.None));
        Assert.Equal([(1 + 4 + 200_000_000L, 16 * 1024L)], c.Refused);
        // The connection is over: nothing more is read from it.
        await c.SendRawAsync(c.Encode(Connect("late")));
        Assert.Null(await c.Server.ReceivePacketAsync(CancellationToken.None));
    }

    [Fact]
    public async Task The_larger_limit_applies_after_a_successful_connack_which_announces_it()
    {
        var c = new Connection(Limits);
        await c.SendRawAsync(c.Encode(Connect("sensor")));
        Assert.IsType<MqttConnectPacket>(await c.Server.ReceivePacketAsync(CancellationToken.None));
        Assert.Equal(16 * 1024L, c.Server.CurrentLimit);

        await c.Server.SendPacketAsync(new MqttConnAckPacket { ReasonCode = MqttConnectReasonCode.Success }, CancellationToken.None);
        var ack = Assert.IsType<MqttConnAckPacket>(await c.ClientReader.ReceivePacketAsync(CancellationToken.None));
        Assert.Equal(64 * 1024u, ack.MaximumPacketSize);
        Assert.Equal(64 * 1024L, c.Server.CurrentLimit);

        await c.SendRawAsync(c.Encode(Publish("sensor/big", 40 * 1024)));
        Assert.Equal(40 * 1024L, Assert.IsType<MqttPublishPacket>(await c.Server.ReceivePacketAsync(CancellationToken.None)).Payload.Length);
        await c.SendRawAsync(c.Encode(Publish("sensor/huge", 70 * 1024)));
        Assert.Null(await c.Server.ReceivePacketAsync(CancellationToken.None));
        Assert.Single(c.Refused);
    }

    [Fact]
    public async Task A_refused_connack_keeps_the_small_limit()
    {
        var c = new Connection(Limits);
        await c.SendRawAsync(c.Encode(Connect("intruder")));
        await c.Server.ReceivePacketAsync(CancellationToken.None);
        await c.Server.SendPacketAsync(new MqttConnAckPacket { ReasonCode = MqttConnectReasonCode.NotAuthorized }, CancellationToken.None);
        Assert.Equal(16 * 1024L, c.Server.CurrentLimit);
    }

    [Fact]
    public async Task A_remaining_length_of_five_bytes_is_a_protocol_violation()
    {
        var c = new Connection();
        await c.SendRawAsync([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]);
        await Assert.ThrowsAsync<MqttProtocolViolationException>(() => c.Server.ReceivePacketAsync(CancellationToken.None));
    }

    [Fact]
    public async Task The_peer_closing_ends_the_receive_loop_with_no_packet()
    {
        var c = new Connection();
        Task<MqttPacket> waiting = c.Server.ReceivePacketAsync(CancellationToken.None);
        await c.SendRawAsync([0x30, 0x05, 0x00]); // half a packet, then the peer goes away
        await c.ToServer.Writer.CompleteAsync();
        Assert.Null(await waiting);
    }

    [Fact]
    public async Task Taps_see_decoded_and_written_packets_with_the_client_id_the_server_assigned()
    {
        var c = new Connection();
        var received = new List<(string, Type)>();
        var written = new List<(string, Type)>();
        c.Taps.Received = (id, p) => received.Add((id, p.GetType()));
        c.Taps.Sending = (_, p) => { if (p is MqttConnAckPacket a) a.SharedSubscriptionAvailable = true; };
        c.Taps.Written = (id, p) => written.Add((id, p.GetType()));

        await c.SendRawAsync(c.Encode(Connect("")));
        await c.Server.ReceivePacketAsync(CancellationToken.None);
        await c.Server.SendPacketAsync(new MqttConnAckPacket { ReasonCode = MqttConnectReasonCode.Success, AssignedClientIdentifier = "auto-1" }, CancellationToken.None);
        await c.SendRawAsync(c.Encode(new MqttSubscribePacket { PacketIdentifier = 1, TopicFilters = [new MqttTopicFilter { Topic = "a/#" }] }));
        await c.Server.ReceivePacketAsync(CancellationToken.None);
        await c.Server.SendPacketAsync(Publish("a/b", 4), CancellationToken.None);

        Assert.Equal([("", typeof(MqttConnectPacket)), ("auto-1", typeof(MqttSubscribePacket))], received);
        Assert.Equal([("auto-1", typeof(MqttConnAckPacket)), ("auto-1", typeof(MqttPublishPacket))], written);
        Assert.True(Assert.IsType<MqttConnAckPacket>(await c.ClientReader.ReceivePacketAsync(CancellationToken.None)).SharedSubscriptionAvailable);
    }

    [Fact]
    public async Task Concurrent_senders_never_interleave_their_packets()
    {
        var c = new Connection();
        await c.SendRawAsync(c.Encode(Connect("fan")));
        await c.Server.ReceivePacketAsync(CancellationToken.None);
        const int Senders = 8, PerSender = 200;
        await Task.WhenAll(Enumerable.Range(0, Senders).Select(s => Task.Run(async () =>
        {
            for (int i = 0; i < PerSender; i++) await c.Server.SendPacketAsync(Publish($"fan/{s}/{i}", 100 + i), CancellationToken.None);
        })));
        var next = new int[Senders];
        for (int n = 0; n < Senders * PerSender; n++)
        {
            var p = Assert.IsType<MqttPublishPacket>(await c.ClientReader.ReceivePacketAsync(CancellationToken.None));
            string[] parts = p.Topic.Split('/');
            int sender = int.Parse(parts[1]), index = int.Parse(parts[2]);
            Assert.Equal(next[sender]++, index); // each sender's packets in its own order, each one whole
            Assert.Equal(100 + index, (int)p.Payload.Length);
        }
        Assert.Equal(c.Server.BytesSent, c.ClientReader.BytesReceived);
    }

    [Fact]
    public async Task Sending_after_disconnect_fails_as_a_communication_error_and_the_peer_reads_the_end()
    {
        var c = new Connection();
        await c.Server.DisconnectAsync(CancellationToken.None);
        await Assert.ThrowsAsync<MqttCommunicationException>(() => c.Server.SendPacketAsync(Publish("x", 1), CancellationToken.None));
        Assert.Null(await c.ClientReader.ReceivePacketAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_publish_with_more_queued_behind_it_waits_in_the_buffer_and_leaves_with_the_last_of_the_burst()
    {
        var c = new Connection();
        long queued = 2;
        var written = new List<string>();
        c.Taps.QueuedBehind = id => id == "sub" ? () => queued : null;
        c.Taps.Written = (_, p) => { if (p is MqttPublishPacket publish) written.Add(publish.Topic); };
        await c.SendRawAsync(c.Encode(Connect("sub")));
        await c.Server.ReceivePacketAsync(CancellationToken.None);

        // Two left in the queue, then one: nothing reaches the client yet (the sender loop comes straight back).
        await c.Server.SendPacketAsync(Publish("burst/1", 50), CancellationToken.None);
        queued = 1;
        await c.Server.SendPacketAsync(Publish("burst/2", 50), CancellationToken.None);
        Assert.False(c.ToClient.Reader.TryRead(out _));
        Assert.Equal(["burst/1", "burst/2"], written); // counted as written: they are in this connection's buffer

        // The last of the burst flushes all three together, in order.
        queued = 0;
        await c.Server.SendPacketAsync(Publish("burst/3", 50), CancellationToken.None);
        Assert.True(c.ToClient.Reader.TryRead(out ReadResult all));
        long together = all.Buffer.Length;
        c.ToClient.Reader.AdvanceTo(all.Buffer.Start);
        Assert.Equal(c.Server.BytesSent, together);
        foreach (string topic in new[] { "burst/1", "burst/2", "burst/3" })
            Assert.Equal(topic, Assert.IsType<MqttPublishPacket>(await c.ClientReader.ReceivePacketAsync(CancellationToken.None)).Topic);
    }

    [Fact]
    public async Task Packets_other_than_publish_and_bursts_past_the_batch_limit_are_flushed_at_once()
    {
        var c = new Connection();
        c.Taps.QueuedBehind = _ => () => 1000; // a queue that never empties
        await c.SendRawAsync(c.Encode(Connect("sub")));
        await c.Server.ReceivePacketAsync(CancellationToken.None);

        await c.Server.SendPacketAsync(Publish("held", 100), CancellationToken.None);
        Assert.False(c.ToClient.Reader.TryRead(out _));
        // A PUBACK (a control packet between data packets) takes the held publish out with it.
        await c.Server.SendPacketAsync(new MqttPubAckPacket { PacketIdentifier = 7 }, CancellationToken.None);
        Assert.Equal("held", Assert.IsType<MqttPublishPacket>(await c.ClientReader.ReceivePacketAsync(CancellationToken.None)).Topic);
        Assert.Equal(7, Assert.IsType<MqttPubAckPacket>(await c.ClientReader.ReceivePacketAsync(CancellationToken.None)).PacketIdentifier);

        // However much is queued, no more than the batch limit (64 KiB) waits unsent.
        for (int i = 0; i < 20; i++) await c.Server.SendPacketAsync(Publish($"big/{i}", 8 * 1024), CancellationToken.None);
        long sent = c.Server.BytesSent, delivered = 0;
        while (c.ToClient.Reader.TryRead(out ReadResult result))
        {
            delivered += result.Buffer.Length;
            c.ToClient.Reader.AdvanceTo(result.Buffer.End);
        }
        Assert.True(delivered > 0, "a burst past the batch limit was never flushed");
        Assert.InRange(sent - delivered, 0, 64 * 1024);
    }

    [Fact]
    public async Task Without_a_queue_reader_or_before_the_client_subscribes_every_publish_is_flushed()
    {
        var c = new Connection();
        c.Taps.QueuedBehind = _ => null; // not subscribed (yet)
        await c.SendRawAsync(c.Encode(Connect("quiet")));
        await c.Server.ReceivePacketAsync(CancellationToken.None);
        await c.Server.SendPacketAsync(Publish("now", 10), CancellationToken.None);
        Assert.True(c.ToClient.Reader.TryRead(out ReadResult result));
        Assert.Equal(c.Server.BytesSent, result.Buffer.Length);
    }
}
