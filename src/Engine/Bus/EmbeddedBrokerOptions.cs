namespace Alicia.Engine.Bus;

public sealed class EmbeddedBrokerOptions
{
    /// <summary>Serve plain MQTT over TCP (the engine's own services always use the in-memory transport).</summary>
    public bool ListenTcp { get; set; } = true;

    /// <summary>The address to bind. Loopback by default: exposing the broker to the network is a decision.</summary>
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>0 picks a free port (tests).</summary>
    public int Port { get; set; } = 1883;

    /// <summary>
    /// The MQTT-over-TLS 1.3 port (8883 by convention); 0 keeps the encrypted listener off. Needs a CA
    /// and a server certificate (<c>alicia ca init</c>); clients must present certificates it issued.
    /// </summary>
    public int TlsPort { get; set; }

    /// <summary>
    /// Hard cap of a subscriber's queue; past it new QoS 0 messages are dropped, counted
    /// (<c>alicia.broker.qos0.dropped</c>) and logged (throttled). 100,000: a subscriber that keeps up on
    /// average loses nothing to a burst (40,000 × 256 B from one publisher lost a third at 10,000 and
    /// nothing at 100,000), while one that stopped reading costs at most this many queued messages
    /// (about 50 MB at 256 B payloads). QoS 1 never reaches it (<see cref="BackpressureWatermark"/>).
    /// </summary>
    public int MaxPendingMessagesPerClient { get; set; } = 100_000;

    /// <summary>
    /// Unacknowledged QoS 1 messages a subscriber may have before QoS 1 publishes to it wait. This also
    /// bounds the latency a slow subscriber sees (the watermark divided by its message rate).
    /// </summary>
    public int BackpressureWatermark { get; set; } = 256;

    /// <summary>The longest a publisher is held back by one subscriber that does not read.</summary>
    public TimeSpan MaxBackpressureWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The largest packet (bytes, fixed header included) a network client may send before its CONNECT
    /// is accepted; a bigger one closes the connection before it is buffered. 16 KiB: a CONNECT carries a
    /// client id, credentials (a password or token of a few hundred bytes) and at most a will, whose
    /// payload here is a signed envelope or a small JSON status (well under 1 KiB); a certificate travels
    /// in the TLS handshake, not in CONNECT. 16 KiB leaves a wide margin for those and costs at most
    /// 16 KiB per unauthenticated connection.
    /// </summary>
    public int MaxConnectPacketBytes { get; set; } = 16 * 1024;

    /// <summary>
    /// The largest packet an authenticated client may send, announced in CONNACK as Maximum Packet
    /// Size. 0 (the default): Security:MaxMessageBytes plus <see cref="PacketOverheadBytes"/> for the
    /// topic, properties and headers.
    /// </summary>
    public int MaxPacketBytes { get; set; }

    /// <summary>
    /// Flush every packet as it is written, even when more are queued for the same subscriber (the default leaves a
    /// PUBLISH in the connection's buffer while its MQTTnet queue holds more, so a burst leaves in one send). Only for
    /// measuring the difference in the same run (<c>--scenario broker-compare --compare-unbatched 1</c>).
    /// </summary>
    internal bool FlushEachPacket { get; set; }

    /// <summary>Room above Security:MaxMessageBytes for a PUBLISH's topic, properties and fixed header.</summary>
    internal const int PacketOverheadBytes = 16 * 1024;
}
