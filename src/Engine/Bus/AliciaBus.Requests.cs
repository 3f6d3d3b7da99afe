using Alicia.Contracts;
using MQTTnet;
using MQTTnet.Protocol;

namespace Alicia.Engine.Bus;

/// <summary>Request/response over MQTT 5: response topic plus correlation data (the request's message id).</summary>
public sealed partial class AliciaBus
{
    /// <summary>
    /// Sends <paramref name="request"/> to <paramref name="destination"/> and waits for its response.
    /// Throws <see cref="TimeoutException"/> naming the destination when none arrives in time.
    /// </summary>
    public async Task<BusMessage<TResponse>> RequestAsync<TRequest, TResponse>(TRequest request, string destination,
        PublishOptions? options = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
        where TRequest : IAliciaMessage<TRequest>
        where TResponse : IAliciaMessage<TResponse>
    {
        options ??= PublishOptions.Default;
        string responseTopic = DefaultTopic<TResponse>();
        await EnsureResponseSinkAsync(TResponse.TopicFilter, cancellationToken).ConfigureAwait(false);

        var envelope = new Envelope<TRequest>(NewHeader(destination, MessageKind.Request), request, options.Metadata);
        var pending = new PendingRequest<TResponse>();
        _pending[envelope.MessageId] = pending;
        try
        {
            byte[] correlation = envelope.MessageId.ToByteArray(bigEndian: true);
            await PublishEnvelopeAsync(options.Topic ?? DefaultTopic<TRequest>(), envelope, options, responseTopic, correlation, cancellationToken).ConfigureAwait(false);
            TimeSpan wait = timeout ?? _options.RequestTimeout;
            try
            {
                return await pending.Task.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"no {typeof(TResponse).Name} from '{destination}' within {wait.TotalSeconds:0.###} s");
            }
        }
        finally
        {
            _pending.TryRemove(envelope.MessageId, out _);
        }
    }

    /// <summary>
    /// Serves requests of <typeparamref name="TRequest"/> addressed to this client (or broadcast): the
    /// handler's result goes back, signed, to the requester's response topic with its correlation data.
    /// </summary>
    public Task<IAsyncDisposable> RespondAsync<TRequest, TResponse>(Func<BusMessage<TRequest>, CancellationToken, ValueTask<TResponse>> handler,
        SubscribeOptions? options = null, int concurrency = 4, CancellationToken cancellationToken = default)
        where TRequest : IAliciaMessage<TRequest>
        where TResponse : IAliciaMessage<TResponse>
    {
        return SubscribeAsync<TRequest>(async (request, ct) =>
        {
            if (request.Envelope.Kind != MessageKind.Request) return;
            TResponse response = await handler(request, ct).ConfigureAwait(false);
            // The response topic comes from the requester: only a topic of the response type is honoured,
            // so nobody can make this service sign messages onto an unrelated topic.
            string topic = request.ResponseTopic is { } asked && MqttTopicFilterComparer.Compare(asked, TResponse.TopicFilter) == MqttTopicFilterCompareResult.IsMatch
                ? asked
                : DefaultTopic<TResponse>();
            var envelope = new Envelope<TResponse>(NewHeader(request.Source, MessageKind.Response), response);
            await PublishEnvelopeAsync(topic, envelope, PublishOptions.Default, null, request.CorrelationData, ct).ConfigureAwait(false);
        }, options, concurrency, cancellationToken);
    }

    private Task EnsureResponseSinkAsync(string filter, CancellationToken cancellationToken)
    {
        Task sink = _responseSinks.GetOrAdd(filter, f => _connection.SubscribeAsync(f, MqttQualityOfServiceLevel.AtLeastOnce, CancellationToken.None));
        if (sink.IsFaulted) _responseSinks.TryRemove(filter, out _);
        return sink.WaitAsync(cancellationToken);
    }

    private abstract class PendingRequest
    {
        public abstract void Complete<T>(in BusMessage<T> message);
        public abstract void Cancel();
    }

    private sealed class PendingRequest<TResponse> : PendingRequest
    {
        private readonly TaskCompletionSource<BusMessage<TResponse>> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<BusMessage<TResponse>> Task => _tcs.Task;

        public override void Complete<T>(in BusMessage<T> message)
        {
            if (message is BusMessage<TResponse> typed) _tcs.TrySetResult(typed);
            else _tcs.TrySetException(new InvalidOperationException($"response of type {typeof(T).Name} where {typeof(TResponse).Name} was expected"));
        }

        public override void Cancel() => _tcs.TrySetCanceled();
    }
}
