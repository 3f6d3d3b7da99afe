using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using MQTTnet;

namespace Alicia.Engine.Bus;

/// <summary>
/// A typed subscription. Messages are handed over through a bounded channel to the subscription's own
/// worker(s): the MQTT receive loop never runs user code, so a handler that itself makes a request
/// cannot deadlock waiting for a response stuck behind it, and a full channel slows the receive loop
/// (backpressure) instead of growing without bound.
/// </summary>
internal abstract class Subscription : IAsyncDisposable
{
    protected Subscription(string filter, string mqttFilter, bool receiveAll)
    {
        Filter = filter;
        MqttFilter = mqttFilter;
        ReceiveAll = receiveAll;
    }

    public string Filter { get; }
    public string MqttFilter { get; }
    public bool ReceiveAll { get; }

    public bool Matches(string topic) => MqttTopicFilterComparer.Compare(topic, Filter) == MqttTopicFilterCompareResult.IsMatch;

    public abstract ValueTask DisposeAsync();
}

internal sealed class Subscription<T> : Subscription
{
    private readonly Channel<BusMessage<T>> _channel;
    private readonly Func<BusMessage<T>, CancellationToken, ValueTask> _handler;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task[] _workers;
    private readonly Func<Subscription, ValueTask> _onDispose;

    public Subscription(string filter, string mqttFilter, bool receiveAll, int concurrency, int capacity,
        Func<BusMessage<T>, CancellationToken, ValueTask> handler, ILogger logger, Func<Subscription, ValueTask> onDispose)
        : base(filter, mqttFilter, receiveAll)
    {
        _handler = handler;
        _logger = logger;
        _onDispose = onDispose;
        _channel = Channel.CreateBounded<BusMessage<T>>(new BoundedChannelOptions(capacity)
        {
            SingleReader = concurrency == 1,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _workers = new Task[concurrency];
        for (int i = 0; i < concurrency; i++) _workers[i] = Task.Run(RunAsync);
    }

    public ValueTask EnqueueAsync(in BusMessage<T> message) =>
        _channel.Writer.TryWrite(message) ? ValueTask.CompletedTask : _channel.Writer.WriteAsync(message, _stopping.Token);

    private async Task RunAsync()
    {
        ChannelReader<BusMessage<T>> reader = _channel.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out BusMessage<T> message))
            {
                try
                {
                    await _handler(message, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    // One failing message must not stop the subscription.
                    _logger.LogError(e, "Handler for {Filter} failed on message {Id} from {Source}", Filter, message.MessageId, message.Source);
                }
            }
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_channel.Writer.TryComplete()) return;
        await _onDispose(this).ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_workers).ConfigureAwait(false);
        _stopping.Dispose();
    }
}
