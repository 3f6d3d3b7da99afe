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
        // A response type whose topic names its requester (a private answer, e.g. a voice session's token) is
        // awaited on this client's own topic only: the ACL lets nobody else read it.
        string responseTopic = IsPrivateResponse<TResponse>() ? PrivateResponseTopic<TResponse>(Name) : DefaultTopic<TResponse>();
        await EnsureResponseSinkAsync(IsPrivateResponse<TResponse>() ? responseTopic : TResponse.TopicFilter, cancellationToken).ConfigureAwait(false);

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
            // A private response goes to the topic of the request's signed source, whatever topic was asked for.
            string topic = IsPrivateResponse<TResponse>() ? PrivateResponseTopic<TResponse>(request.Source) : ResponseTopicFor<TResponse>(request.ResponseTopic, request.Source);
            var envelope = new Envelope<TResponse>(NewHeader(request.Source, MessageKind.Response), response);
            // The reply speaks the requester's language: JSON to a JSON request (plain devices, mosquitto_rr, scripts).
            await PublishEnvelopeAsync(topic, envelope, request.ArrivedAsJson ? JsonReply : PublishOptions.Default, null, request.CorrelationData, ct).ConfigureAwait(false);
        }, options, concurrency, cancellationToken);
    }

    private static readonly PublishOptions JsonReply = new() { Json = true };

    /// <summary>
    /// The MQTT 5 user property the security gateway puts on a JSON envelope it countersigned and re-encoded as
    /// MessagePack, so the receiver still knows the sender speaks JSON.
    /// </summary>
    internal const string OriginalContentTypeProperty = "alicia-original-content-type";

    /// <summary>
    /// May <c>requester</c> read <c>topic</c> (its ACL)? Set by the security gateway; null (no gateway, so no ACL)
    /// lets every requester name any safe topic outside the Alicia tree.
    /// </summary>
    internal Func<string, string, bool>? ResponseTopicPolicy { get; set; }

    /// <summary>
    /// Where the response to a request goes: the response topic the requester asked for when it is a topic of the
    /// response type, or a plain topic (no wildcards, outside the typed Alicia tree, so nothing reads the reply as
    /// another message) that the requester may read; otherwise the response type's own topic.
    /// </summary>
    internal string ResponseTopicFor<TResponse>(string? asked, string requester) where TResponse : IAliciaMessage<TResponse>
    {
        if (asked is null || !IsPlainTopic(asked)) return DefaultTopic<TResponse>();
        if (MqttTopicFilterComparer.Compare(asked, TResponse.TopicFilter) == MqttTopicFilterCompareResult.IsMatch) return asked;
        foreach ((string _, string _, string filter) in Messages.Topics)
            if (MqttTopicFilterComparer.Compare(asked, filter) == MqttTopicFilterCompareResult.IsMatch) return DefaultTopic<TResponse>();
        return ResponseTopicPolicy is not { } mayRead || mayRead(requester, asked) ? asked : DefaultTopic<TResponse>();
    }

    /// <summary>A concrete topic a reply may be published to: no wildcards, no control characters, not <c>$SYS</c>, bounded.</summary>
    private static bool IsPlainTopic(string topic) =>
        topic.Length is > 0 and <= 256 && topic[0] != '$' && !topic.AsSpan().ContainsAny("+#") && !topic.Any(char.IsControl);

    /// <summary>
    /// True when the response type's topic ends with one placeholder, the requester
    /// (<c>alicia/voice/session/response/{requester}</c>): its responses are private to whoever asked.
    /// </summary>
    internal static bool IsPrivateResponse<T>() where T : IAliciaMessage<T> =>
        T.TopicPattern.EndsWith('}') && T.TopicPattern.IndexOf('{') is int open && open > 0 && T.TopicPattern[open - 1] == '/'
        && T.TopicPattern.IndexOf('{', open + 1) < 0;

    /// <summary>The private response topic of <paramref name="requester"/> (an identity name: one topic level, no wildcards).</summary>
    internal static string PrivateResponseTopic<T>(string requester) where T : IAliciaMessage<T>
    {
        if (requester.Length == 0 || requester.AsSpan().IndexOfAny("/+#\0") >= 0)
            throw new ArgumentException($"'{requester}' cannot name a response topic", nameof(requester));
        return string.Concat(T.TopicPattern.AsSpan(0, T.TopicPattern.IndexOf('{')), requester);
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
