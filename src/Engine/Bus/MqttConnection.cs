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
    private readonly TimeSpan _minBackoff;
    private readonly TimeSpan _maxBackoff;
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _reconnecting;

    public MqttConnection(BrokerEndpoint endpoint, string clientId, ILogger logger, TimeSpan? minBackoff = null, TimeSpan? maxBackoff = null, Action<MqttClientOptionsBuilder>? configure = null, string? username = null, byte[]? password = null, BusOptions? tls = null)
    {
        _logger = logger;
        _minBackoff = minBackoff ?? TimeSpan.FromMilliseconds(100);
        _maxBackoff = maxBackoff ?? TimeSpan.FromSeconds(10);
        Endpoint = endpoint;
        MqttClientOptionsBuilder builder = ClientOptions.For(endpoint, clientId, username, password, tls);
        configure?.Invoke(builder);
        _options = builder.Build();
        _client = new MqttClientFactory().CreateMqttClient();
        _client.DisconnectedAsync += OnDisconnected;
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
        if (Interlocked.Exchange(ref _reconnecting, 1) == 0) _ = Task.Run(ReconnectLoopAsync);
        return Task.CompletedTask;
    }

    private async Task ReconnectLoopAsync()
    {
        TimeSpan delay = _minBackoff;
        try
        {
            while (!_disposing.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(Jitter(delay), _disposing.Token).ConfigureAwait(false);
                    await ConnectAsync(_disposing.Token).ConfigureAwait(false);
                    foreach ((string filter, MqttQualityOfServiceLevel qos) in _filters)
                        await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, qos).Build(), _disposing.Token).ConfigureAwait(false);
                    Reconnects++;
                    _logger.LogInformation("Reconnected to broker {Endpoint}; {Count} subscriptions restored", Endpoint, _filters.Count);
                    Reconnected?.Invoke();
                    return;
                }
                catch (OperationCanceledException) when (_disposing.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    _logger.LogDebug(e, "Reconnect to {Endpoint} failed; next try in {Delay}", Endpoint, delay);
                    if (_client.IsConnected) await _client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None).ConfigureAwait(false);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _maxBackoff.Ticks));
                }
            }
        }
        finally
        {
            Volatile.Write(ref _reconnecting, 0);
            // A disconnect that raced with the end of this loop must not be left without a reconnect.
            if (!_client.IsConnected && !_disposing.IsCancellationRequested && Interlocked.Exchange(ref _reconnecting, 1) == 0)
                _ = Task.Run(ReconnectLoopAsync);
        }
    }

    private static TimeSpan Jitter(TimeSpan delay) => delay * (0.8 + Random.Shared.NextDouble() * 0.4);

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
