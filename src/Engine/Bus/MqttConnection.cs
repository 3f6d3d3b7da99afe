using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;

namespace Alicia.Engine.Bus;

/// <summary>
/// One MQTT 5 client connection that stays up: MQTTnet 5 has no managed client, so this reconnects
/// with exponential backoff (plus jitter, so a restarted broker is not hit by every client at once)
/// and re-subscribes every filter after each reconnect.
/// </summary>
internal sealed class MqttConnection : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly MqttClientOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, MqttQualityOfServiceLevel> _filters = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _disposing = new();
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ReconnectLoop _reconnect;

    public MqttConnection(BrokerEndpoint endpoint, string clientId, ILogger logger, TimeSpan? minBackoff = null, TimeSpan? maxBackoff = null, Action<MqttClientOptionsBuilder>? configure = null, string? username = null, byte[]? password = null, BusOptions? tls = null)
    {
        _logger = logger;
        Endpoint = endpoint;
        MqttClientOptionsBuilder builder = ClientOptions.For(endpoint, clientId, username, password, tls);
        configure?.Invoke(builder);
        _options = builder.Build();
        _client = ClientOptions.CreateClient(endpoint);
        _client.DisconnectedAsync += OnDisconnected;
        _reconnect = new ReconnectLoop($"bus client {clientId}", ReconnectOnceAsync, () => _client.IsConnected, logger,
            minBackoff ?? TimeSpan.FromMilliseconds(100), maxBackoff ?? TimeSpan.FromSeconds(10), _disposing.Token);
    }

    public BrokerEndpoint Endpoint { get; }
    public string ClientId => _options.ClientId;
    public bool IsConnected => _client.IsConnected;
    public IMqttClient Client => _client;

    /// <summary>How many times the connection came back after a loss.</summary>
    public int Reconnects { get; private set; }

    /// <summary>Raised after a lost connection is back and every subscription is restored.</summary>
    public event Action? Reconnected;

    public event Func<MqttApplicationMessageReceivedEventArgs, Task> MessageReceived
    {
        add => _client.ApplicationMessageReceivedAsync += value;
        remove => _client.ApplicationMessageReceivedAsync -= value;
    }

    /// <summary>Connects once; a broker that is not there is an error the caller sees.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        MqttClientConnectResult result = await _client.ConnectAsync(_options, cancellationToken).ConfigureAwait(false);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
            throw new InvalidOperationException($"broker {Endpoint} refused the connection: {result.ResultCode} {result.ReasonString}");
        _connected.TrySetResult();
    }

    public async Task SubscribeAsync(string filter, MqttQualityOfServiceLevel qos, CancellationToken cancellationToken)
    {
        _filters[filter] = qos;
        if (!_client.IsConnected) return; // subscribed on reconnect
        MqttClientSubscribeResult result = await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, qos).Build(), cancellationToken).ConfigureAwait(false);
        foreach (MqttClientSubscribeResultItem item in result.Items)
        {
            if ((int)item.ResultCode > (int)MqttClientSubscribeResultCode.GrantedQoS2)
            {
                _filters.TryRemove(filter, out _);
                throw new InvalidOperationException($"broker {Endpoint} refused subscription '{filter}': {item.ResultCode}");
            }
        }
    }

    public async Task UnsubscribeAsync(string filter, CancellationToken cancellationToken)
    {
        if (!_filters.TryRemove(filter, out _) || !_client.IsConnected) return;
        await _client.UnsubscribeAsync(new MqttClientUnsubscribeOptionsBuilder().WithTopicFilter(filter).Build(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Publishes, waiting for a lost connection to come back first (bounded by the token).</summary>
    public Task<MqttClientPublishResult> PublishAsync(MqttApplicationMessage message, CancellationToken cancellationToken) =>
        _client.IsConnected ? _client.PublishAsync(message, cancellationToken) : PublishAfterReconnectAsync(message, cancellationToken);

    private async Task<MqttClientPublishResult> PublishAfterReconnectAsync(MqttApplicationMessage message, CancellationToken cancellationToken)
    {
        await _connected.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        return await _client.PublishAsync(message, cancellationToken).ConfigureAwait(false);
    }

    private Task OnDisconnected(MqttClientDisconnectedEventArgs e)
    {
        if (_disposing.IsCancellationRequested || !e.ClientWasConnected) return Task.CompletedTask;
        _logger.LogWarning("Lost connection to broker {Endpoint} ({Reason}); reconnecting", Endpoint, e.Reason);
        Interlocked.Exchange(ref _connected, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        _reconnect.Start();
        return Task.CompletedTask;
    }

    private async ValueTask ReconnectOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            await ConnectAsync(cancellationToken).ConfigureAwait(false);
            foreach ((string filter, MqttQualityOfServiceLevel qos) in _filters)
                await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, qos).Build(), cancellationToken).ConfigureAwait(false);
        }
        catch when (_client.IsConnected)
        {
            // Half restored (subscriptions missing): start the next attempt from a clean disconnect.
            await _client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        Reconnects++;
        _logger.LogInformation("Reconnected to broker {Endpoint}; {Count} subscriptions restored", Endpoint, _filters.Count);
        Reconnected?.Invoke();
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposing.IsCancellationRequested) return;
        _disposing.Cancel();
        try
        {
            if (_client.IsConnected)
                await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or ObjectDisposedException)
        {
            // Already gone: nothing to close.
        }
        _client.Dispose();
        _disposing.Dispose();
    }
}
