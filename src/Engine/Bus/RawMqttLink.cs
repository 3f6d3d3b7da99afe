using System.Buffers;
using System.Collections.Concurrent;
using Alicia.Engine.Bus;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;

namespace Alicia.Engine.Bus;

/// <summary>
/// A plain MQTT 5 connection outside the signed bus, for what the bus cannot carry: unsigned JSON
/// registrations from devices that cannot sign, MQTT will messages (a will is composed at connect time,
/// so it cannot carry a fresh signature), Home Assistant's discovery topics, and simulated devices that
/// need their own will. Everything received here is validated by its user; nothing is trusted for being
/// here. Reconnects with backoff, re-subscribes, and composes a new will for every connection.
/// </summary>
internal sealed class RawMqttLink : IAsyncDisposable
{
    private readonly BrokerEndpoint _endpoint;
    private readonly string _clientId;
    private readonly ILogger _logger;
    private readonly Func<MqttApplicationMessage?>? _will;
    private readonly IMqttClient _client;
    private readonly ConcurrentDictionary<string, byte> _filters = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _disposing = new();
    private readonly ReconnectLoop _reconnect;

    private RawMqttLink(BrokerEndpoint endpoint, string clientId, ILogger logger, Func<MqttApplicationMessage?>? will)
    {
        _endpoint = endpoint;
        _clientId = clientId;
        _logger = logger;
        _will = will;
        _client = ClientOptions.CreateClient(endpoint);
        _client.DisconnectedAsync += OnDisconnectedAsync;
        _client.ApplicationMessageReceivedAsync += e => Received is { } handler ? handler(e.ApplicationMessage) : Task.CompletedTask;
        _reconnect = new ReconnectLoop($"raw MQTT link {clientId}", ReconnectOnceAsync, () => _client.IsConnected, logger,
            TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10), _disposing.Token);
    }

    public string ClientId => _clientId;
    public bool IsConnected => _client.IsConnected;

    /// <summary>Every message on a subscribed filter.</summary>
    public event Func<MqttApplicationMessage, Task>? Received;

    /// <summary>After every (re)connect, subscriptions restored: the place to publish a birth.</summary>
    public event Func<bool, Task>? Connected;

    /// <summary>Connects; <paramref name="will"/> is called before each connection for that connection's last will.</summary>
    public static async Task<RawMqttLink> ConnectAsync(BrokerEndpoint endpoint, string clientId, ILogger logger,
        Func<MqttApplicationMessage?>? will = null, Func<bool, Task>? connected = null, CancellationToken cancellationToken = default,
        string? username = null, byte[]? password = null, BusOptions? tls = null)
    {
        var link = new RawMqttLink(endpoint, clientId, logger, will) { _username = username, _password = password, _tls = tls };
        if (connected is not null) link.Connected += connected;
        try
        {
            await link.ConnectOnceAsync(first: true, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await link.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return link;
    }

    private string? _username;
    private byte[]? _password;
    private BusOptions? _tls;

    /// <summary>
    /// Connects one of the engine's own links with the engine's credentials (the gateway knows them): in process, as
    /// the engine's own bus does, the engine's name and the embedded broker's secret; to an external broker, the bus options'.
    /// </summary>
    public static Task<RawMqttLink> ConnectToEngineAsync(Hosting.AliciaEngine engine, string clientId, ILogger logger,
        Func<bool, Task>? connected = null, CancellationToken cancellationToken = default) =>
        ConnectAsync(EndpointOf(engine), clientId, logger, null, connected, cancellationToken, engine.ClientCredentials.Username, engine.ClientCredentials.Password, engine.Options.Bus);

    public static BrokerEndpoint EndpointOf(Hosting.AliciaEngine engine) =>
        engine.Broker is { } broker ? BrokerEndpoint.InProcess(broker.InMemory) : engine.ClientEndpoint ?? throw new InvalidOperationException("the engine is not started");

    private MqttClientOptions BuildOptions()
    {
        // The same options as the engine's bus client, so TLS client certificates apply to raw links too.
        MqttClientOptionsBuilder builder = ClientOptions.For(_endpoint, _clientId, _username, _password, _tls);
        if (_will?.Invoke() is { } will)
        {
            builder.WithWillTopic(will.Topic)
                .WithWillPayload(will.Payload.ToArray())
                .WithWillContentType(will.ContentType)
                .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .WithWillRetain(will.Retain);
        }
        return builder.Build();
    }

    private async Task ConnectOnceAsync(bool first, CancellationToken cancellationToken)
    {
        MqttClientConnectResult result = await _client.ConnectAsync(BuildOptions(), cancellationToken).ConfigureAwait(false);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
            throw new InvalidOperationException($"broker {_endpoint} refused {_clientId}: {result.ResultCode} {result.ReasonString}");
        foreach (string filter in _filters.Keys)
            await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build(), cancellationToken).ConfigureAwait(false);
        if (Connected is { } handler) await handler(first).ConfigureAwait(false);
    }

    public async Task SubscribeAsync(string filter, CancellationToken cancellationToken = default)
    {
        _filters[filter] = 0;
        if (!_client.IsConnected) return;
        MqttClientSubscribeResult result = await _client.SubscribeAsync(
            new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build(), cancellationToken).ConfigureAwait(false);
        foreach (MqttClientSubscribeResultItem item in result.Items)
            if ((int)item.ResultCode > (int)MqttClientSubscribeResultCode.GrantedQoS2)
                throw new InvalidOperationException($"broker {_endpoint} refused subscription '{filter}': {item.ResultCode}");
    }

    public async Task PublishAsync(string topic, ReadOnlyMemory<byte> payload, string? contentType, bool retain = false, CancellationToken cancellationToken = default)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload.ToArray())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(retain);
        if (contentType is not null) message.WithContentType(contentType);
        MqttClientPublishResult result = await _client.PublishAsync(message.Build(), cancellationToken).ConfigureAwait(false);
        if (!result.IsSuccess && result.ReasonCode != MqttClientPublishReasonCode.NoMatchingSubscribers)
            throw new BusPublishException(topic, (int)result.ReasonCode, result.ReasonCode.ToString(), result.ReasonString);
    }

    /// <summary>Drops the connection without DISCONNECT, as a crash would: the broker sends the will (for tests and the simulator's "kill").</summary>
    public async Task AbortAsync()
    {
        await _disposing.CancelAsync().ConfigureAwait(false);
        _client.Dispose();
    }

    private Task OnDisconnectedAsync(MqttClientDisconnectedEventArgs e)
    {
        if (_disposing.IsCancellationRequested || !e.ClientWasConnected) return Task.CompletedTask;
        _logger.LogWarning("Raw MQTT link {ClientId} lost {Endpoint} ({Reason}); reconnecting", _clientId, _endpoint, e.Reason);
        _reconnect.Start();
        return Task.CompletedTask;
    }

    private async ValueTask ReconnectOnceAsync(CancellationToken cancellationToken)
    {
        await ConnectOnceAsync(first: false, cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("Raw MQTT link {ClientId} reconnected to {Endpoint}", _clientId, _endpoint);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposing.IsCancellationRequested) { _client.Dispose(); return; }
        await _disposing.CancelAsync().ConfigureAwait(false);
        try
        {
            if (_client.IsConnected)
                await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or ObjectDisposedException)
        {
        }
        _client.Dispose();
    }
}
