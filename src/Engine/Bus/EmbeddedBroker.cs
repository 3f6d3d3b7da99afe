using System.Net;
using System.Net.Sockets;
using Alicia.Engine.Bus.InMemory;
using Alicia.Engine.Bus.Transport;
using Alicia.Engine.Monitoring;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet.Server;
using MQTTnet.Server.Internal.Adapter;

namespace Alicia.Engine.Bus;

/// <summary>
/// The MQTT 5 broker inside the engine (MQTTnet's server): plain TCP on loopback by default, plus an
/// in-memory transport for the engine's own services. Adds what the stock server lacks: no silent loss
/// of QoS 1 messages (<see cref="BrokerFlowControl"/>) and shared subscriptions (<see cref="SharedSubscriptions"/>).
/// The engine creates, starts and stops it (<see cref="Hosting.AliciaEngine.Broker"/>); an
/// <see cref="Hosting.IBrokerExtension"/> may shape it before it starts (<see cref="Tls"/>).
/// </summary>
public sealed class EmbeddedBroker : IAsyncDisposable
{
    private readonly EmbeddedBrokerOptions _options;
    private readonly ILogger _logger;
    private readonly BrokerFlowControl _flow;
    private readonly SharedSubscriptions _shared = new();
    private readonly PacketTaps _taps = new();
    private readonly SubscriberQueues _subscriberQueues = new();
    private MqttServer? _server;

    internal EmbeddedBroker(EmbeddedBrokerOptions? options = null, BusMetrics? metrics = null, ILogger<EmbeddedBroker>? logger = null, int maxMessageBytes = 256 * 1024)
    {
        _options = options ?? new EmbeddedBrokerOptions();
        Limits = new PacketLimits(
            _options.MaxConnectPacketBytes,
            _options.MaxPacketBytes > 0 ? _options.MaxPacketBytes : (long)maxMessageBytes + EmbeddedBrokerOptions.PacketOverheadBytes);
        _logger = logger ?? (ILogger)NullLogger.Instance;
        Metrics = metrics ?? new BusMetrics();
        _flow = new BrokerFlowControl(_options, Metrics, _logger);
        _taps.Received = (clientId, packet) =>
        {
            _shared.OnReceived(clientId, packet);
            _flow.OnReceived(clientId, packet);
        };
        _taps.Sending = SharedSubscriptions.OnSending;
        _taps.Written = _flow.OnWritten;
        if (!_options.FlushEachPacket) _taps.QueuedBehind = _subscriberQueues.QueuedBehind;
        InMemory.Taps = _taps;
    }

    internal BusMetrics Metrics { get; }

    /// <summary>
    /// The largest packets a network client may send: before its CONNECT is accepted, and after
    /// (announced in CONNACK as Maximum Packet Size). The in-memory transport is not limited.
    /// </summary>
    internal PacketLimits Limits { get; }

    internal InMemoryServerAdapter InMemory { get; } = new();

    /// <summary>
    /// A per-process secret with which the engine's own in-process clients authenticate to the gateway.
    /// It never leaves the process.
    /// </summary>
    internal byte[] InProcessSecret { get; } = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);

    /// <summary>The TCP endpoint after start (with the real port when 0 was asked for), or null when TCP is off.</summary>
    public IPEndPoint? TcpEndPoint { get; private set; }

    internal MqttServer Server => _server ?? throw new InvalidOperationException("the broker is not started");

    /// <summary>Messages queued, in flight or buffered for <paramref name="clientId"/> (flow control).</summary>
    internal int PendingFor(string clientId) => _flow.PendingFor(clientId);

    /// <summary>Called with the server before it starts, to attach hooks (authentication, authorization, auditing).</summary>
    internal event Action<MqttServer>? Configuring;

    /// <summary>
    /// Set by the security gateway: whether a message may be queued for a receiver (client id). Private topics
    /// (a response only its requester may read) are refused here, since no subscription filter can exclude them.
    /// </summary>
    internal Func<string, MQTTnet.MqttApplicationMessage, bool>? DeliveryFilter { get; set; }

    /// <summary>Settings for the TLS listener (<see cref="EmbeddedBrokerOptions.TlsPort"/>); set before start.</summary>
    public BrokerTlsSettings? Tls { get; set; }

    /// <summary>The TLS endpoint after start, or null when the encrypted listener is off.</summary>
    public IPEndPoint? TlsEndPoint { get; private set; }

    internal async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_server is not null) throw new InvalidOperationException("the broker is already started");
        IPAddress address = ParseAddress(_options.ListenAddress);
        var builder = new MqttServerOptionsBuilder()
            .WithMaxPendingMessagesPerClient(_options.MaxPendingMessagesPerClient)
            .WithPendingMessagesOverflowStrategy(MQTTnet.Server.MqttPendingMessagesOverflowStrategy.DropNewMessage)
            .WithoutDefaultEndpoint(); // our own listeners (GuardedTcpServerAdapter) serve TCP and TLS
        bool tls = _options.TlsPort > 0;
        if (tls && Tls is null) throw new InvalidOperationException($"Broker:TlsPort is {_options.TlsPort} but no server certificate is configured (run 'alicia ca init')");
        MqttServerOptions serverOptions = builder.Build();

        List<IMqttServerAdapter> adapters = [InMemory];
        GuardedTcpServerAdapter? network = null;
        if (_options.ListenTcp || tls)
        {
            network = new GuardedTcpServerAdapter(
                _options.ListenTcp ? new IPEndPoint(address, _options.Port) : null,
                tls ? new IPEndPoint(address, _options.TlsPort) : null,
                Tls, Limits, _logger, _taps);
            adapters.Add(network);
        }
        MqttServer server = new MqttServerFactory().CreateMqttServer(serverOptions, adapters);
        _flow.Attach(server);
        _shared.Attach(server);
        _subscriberQueues.Attach(server);
        server.InterceptingClientEnqueueAsync += OnEnqueue;
        server.ValidatingConnectionAsync += AssignClientId;
        Configuring?.Invoke(server);

        try
        {
            await server.StartAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            server.Dispose();
            throw new BrokerPortInUseException(_options.ListenAddress, _options.Port, e);
        }
        _server = server;
        TcpEndPoint = network?.PlainEndPoint;
        TlsEndPoint = network?.EncryptedEndPoint;
        _logger.LogInformation("Embedded MQTT 5 broker started{Tcp}", TcpEndPoint is null ? " (in-memory only)" : $" on mqtt://{Format(TcpEndPoint)}");
    }

    private async Task OnEnqueue(InterceptingClientApplicationMessageEnqueueEventArgs e)
    {
        if ((DeliveryFilter is { } filter && !filter(e.ReceiverClientId, e.ApplicationMessage))
            || !_shared.ShouldDeliver(e.ReceiverClientId, e.ApplicationMessage))
        {
            e.AcceptEnqueue = false;
            return;
        }
        await _flow.BeforeEnqueueAsync(e).ConfigureAwait(false);
    }

    /// <summary>
    /// MQTT 5 lets a client connect with an empty client id and have the server assign one (as
    /// <c>mosquitto_sub -V mqttv5</c> does); MQTTnet refuses that unless an id is assigned here.
    /// </summary>
    private static Task AssignClientId(ValidatingConnectionEventArgs e)
    {
        if (string.IsNullOrEmpty(e.ClientId)) e.AssignedClientIdentifier = "auto-" + Guid.NewGuid().ToString("N")[..12];
        return Task.CompletedTask;
    }

    internal static string Format(IPEndPoint endPoint) =>
        endPoint.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{endPoint.Address}]:{endPoint.Port}" : $"{endPoint.Address}:{endPoint.Port}";

    private static IPAddress ParseAddress(string text)
    {
        if (text is "localhost") return IPAddress.Loopback;
        if (IPAddress.TryParse(text, out IPAddress? address)) return address;
        throw new ArgumentException($"'{text}' is not an IP address to listen on (e.g. 127.0.0.1, ::1, 0.0.0.0)");
    }

    internal async Task StopAsync()
    {
        MqttServer? server = Interlocked.Exchange(ref _server, null);
        if (server is null) return;
        try { await server.StopAsync().ConfigureAwait(false); }
        finally { server.Dispose(); }
        _logger.LogInformation("Embedded MQTT broker stopped");
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);
}
