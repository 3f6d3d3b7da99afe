using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using Alicia.Contracts;
using Alicia.Engine.Buffers;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Protocol;

namespace Alicia.Engine.Bus;

/// <summary>
/// The typed, signed message bus: publish, subscribe and request/response over one MQTT 5 connection
/// (in-memory to the embedded broker, or TCP to an external one). Everything sent is signed with this
/// client's Ed25519 identity; everything received is verified before any handler sees it.
/// </summary>
public sealed partial class AliciaBus : IAsyncDisposable
{
    public const string MessagePackContentType = "application/msgpack";

    private readonly MqttConnection _connection;
    private readonly EnvelopeSigner _signer;
    private readonly EnvelopeVerifier _verifier;
    private readonly BusOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _clock;
    private readonly Lock _subscriptionLock = new();
    private Subscription[] _subscriptions = [];
    private readonly Dictionary<string, int> _mqttFilterRefs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Guid, PendingRequest> _pending = new();
    private readonly ConcurrentDictionary<string, Task> _responseSinks = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<PooledBufferWriter> _writers = [];
    private int _pooledWriters; // ConcurrentBag.Count locks every thread's list: the pool keeps its own count
    private readonly LogThrottle _rejectionLog;

    private AliciaBus(MqttConnection connection, SigningIdentity identity, EnvelopeVerifier verifier, BusOptions options, ILogger logger, TimeProvider clock)
    {
        _connection = connection;
        _signer = new EnvelopeSigner(identity);
        _verifier = verifier;
        _options = options;
        _logger = logger;
        _clock = clock;
        _rejectionLog = new LogThrottle(logger, "refused messages");
        _connection.MessageReceived += OnMessageReceivedAsync;
    }

    /// <summary>This client's identity name: the <c>source</c> of everything it sends.</summary>
    public string Name => _signer.Source;

    public string ClientId => _connection.ClientId;
    public BrokerEndpoint Endpoint => _connection.Endpoint;
    public bool IsConnected => _connection.IsConnected;
    public int Reconnects => _connection.Reconnects;
    public BusMetrics Metrics => _verifier.Metrics;

    /// <summary>The message types this client understands: Alicia's, and an embedder's (<see cref="MessageSet.Combine"/>).</summary>
    public MessageSet Messages { get; private init; } = MessageSet.Alicia;

    /// <summary>Raised after a lost broker connection is back and every subscription is restored.</summary>
    public event Action? Reconnected
    {
        add => _connection.Reconnected += value;
        remove => _connection.Reconnected -= value;
    }

    /// <summary>Raised for every refused message, after it was counted (for auditing).</summary>
    public event Action<string, Verdict>? Rejected;

    public static async Task<AliciaBus> ConnectAsync(BrokerEndpoint endpoint, SigningIdentity identity, EnvelopeVerifier verifier,
        BusOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? clock = null, CancellationToken cancellationToken = default,
        MessageSet? messages = null)
    {
        options ??= new BusOptions();
        ILogger logger = loggerFactory?.CreateLogger<AliciaBus>() ?? (ILogger)NullLogger.Instance;
        string clientId = options.ClientId ?? $"{identity.Name}-{Random.Shared.Next(0x100000):x5}";
        var connection = new MqttConnection(endpoint, clientId, logger, options.ReconnectMinDelay, options.ReconnectMaxDelay, username: options.Username, password: options.Password, tls: options);
        var bus = new AliciaBus(connection, identity, verifier, options, logger, clock ?? TimeProvider.System) { Messages = messages ?? MessageSet.Alicia };
        try
        {
            await connection.ConnectAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return bus;
    }

    // ---- publish ----

    public Task PublishAsync<T>(T data, PublishOptions? options = null, CancellationToken cancellationToken = default)
        where T : IAliciaMessage<T>
    {
        options ??= PublishOptions.Default;
        var envelope = new Envelope<T>(NewHeader(options.Destination, options.Kind ?? T.DefaultKind), data, options.Metadata);
        return PublishEnvelopeAsync(options.Topic ?? DefaultTopic<T>(), envelope, options, null, null, cancellationToken);
    }

    private EnvelopeHeader NewHeader(string destination, MessageKind kind) => EnvelopeHeader.Create(Name, destination, kind, _clock);

    internal static string DefaultTopic<T>() where T : IAliciaMessage<T> =>
        T.TopicPattern.Contains('{')
            ? throw new ArgumentException($"{typeof(T).Name}'s topic {T.TopicPattern} has placeholders: pass the topic ({typeof(T).Name}.BuildTopic(...))")
            : T.TopicPattern;

    private async Task PublishEnvelopeAsync<T>(string topic, Envelope<T> envelope, PublishOptions options, string? responseTopic, byte[]? correlation, CancellationToken cancellationToken)
        where T : IAliciaMessage<T>
    {
        using System.Diagnostics.Activity? span = Tracing.BusTracing.StartPublish(topic, ref envelope);
        if (options.EncryptFor is { } recipient)
        {
            envelope = PayloadCipherOrThrow().Seal(envelope, topic, recipient);
        }
        else if (IsSensitive(topic))
        {
            throw new ArgumentException($"'{topic}' is a sensitive topic: its payload must be encrypted (PublishOptions.EncryptFor)");
        }
        PooledBufferWriter buffer = RentWriter();
        try
        {
            if (options.Json) _signer.EncodeJson(buffer, topic, envelope);
            else _signer.Encode(buffer, topic, envelope);
            var message = new MqttApplicationMessage
            {
                Topic = topic,
                Payload = new ReadOnlySequence<byte>(buffer.WrittenMemory),
                QualityOfServiceLevel = options.QualityOfService.ToMqtt(),
                Retain = options.Retain,
                ContentType = options.Json ? EnvelopeJson.ContentType : MessagePackContentType,
                ResponseTopic = responseTopic,
                CorrelationData = correlation,
                UserProperties = Tracing.BusTracing.UserProperties(envelope),
            };
            MqttClientPublishResult result = await _connection.PublishAsync(message, cancellationToken).ConfigureAwait(false);
            if (!result.IsSuccess && result.ReasonCode != MqttClientPublishReasonCode.NoMatchingSubscribers)
                throw new BusPublishException(topic, (int)result.ReasonCode, result.ReasonCode.ToString(), result.ReasonString);
            Metrics.Published();
        }
        finally
        {
            ReturnWriter(buffer);
        }
    }

    /// <summary>This client's end-to-end payload cipher (its X25519 key); without one it can neither seal nor open payloads.</summary>
    internal Security.Encryption.PayloadCipher? PayloadCipher { get; set; }

    /// <summary>
    /// Turns on end-to-end payload encryption for this client: payloads published with
    /// <see cref="PublishOptions.EncryptFor"/> are sealed with the recipient's X25519 public key from
    /// <paramref name="keys"/> (<c>{recipient}.x25519.pub</c>), and payloads sealed for this client are opened
    /// with its own X25519 key there (<c>{Name}.x25519</c>, created with mode 0600 when missing). Without it,
    /// this client can neither seal nor open payloads.
    /// </summary>
    public void EnableEncryption(KeyDirectory keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        PayloadCipher = new Security.Encryption.PayloadCipher(keys.LoadAgreementKey(Name), Name, keys.TryReadAgreementKey);
    }

    private Security.Encryption.PayloadCipher PayloadCipherOrThrow() =>
        PayloadCipher ?? throw new InvalidOperationException("this bus cannot encrypt: call EnableEncryption first");

    private bool IsSensitive(string topic)
    {
        foreach (string filter in _options.EncryptedTopics)
        {
            if (MqttTopicFilterComparer.Compare(topic, filter) == MqttTopicFilterCompareResult.IsMatch) return true;
        }
        return false;
    }

    private PooledBufferWriter RentWriter()
    {
        if (_writers.TryTake(out PooledBufferWriter? writer))
        {
            Interlocked.Decrement(ref _pooledWriters);
            writer.Reset();
            return writer;
        }
        return new PooledBufferWriter(1024);
    }

    private void ReturnWriter(PooledBufferWriter writer)
    {
        if (Interlocked.Increment(ref _pooledWriters) <= 64) _writers.Add(writer);
        else
        {
            Interlocked.Decrement(ref _pooledWriters);
            writer.Dispose();
        }
    }

    // ---- subscribe ----

    public async Task<IAsyncDisposable> SubscribeAsync<T>(Func<BusMessage<T>, CancellationToken, ValueTask> handler, SubscribeOptions? options = null, int concurrency = 1, CancellationToken cancellationToken = default)
        where T : IAliciaMessage<T>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        options ??= SubscribeOptions.Default;
        string filter = options.Filter ?? T.TopicFilter;
        string mqttFilter = options.ShareGroup is { } group ? $"$share/{group}/{filter}" : filter;
        var subscription = new Subscription<T>(filter, mqttFilter, options.ReceiveAll, concurrency, 256, handler, _logger, RemoveSubscriptionAsync);
        bool first;
        lock (_subscriptionLock)
        {
            _subscriptions = [.. _subscriptions, subscription];
            _mqttFilterRefs.TryGetValue(mqttFilter, out int refs);
            _mqttFilterRefs[mqttFilter] = refs + 1;
            first = refs == 0;
        }
        try
        {
            if (first) await _connection.SubscribeAsync(mqttFilter, MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return subscription;
    }

    private async ValueTask RemoveSubscriptionAsync(Subscription subscription)
    {
        bool last;
        lock (_subscriptionLock)
        {
            _subscriptions = [.. _subscriptions.Where(s => s != subscription)];
            int refs = _mqttFilterRefs.GetValueOrDefault(subscription.MqttFilter) - 1;
            last = refs <= 0;
            if (last) _mqttFilterRefs.Remove(subscription.MqttFilter);
            else _mqttFilterRefs[subscription.MqttFilter] = refs;
        }
        if (last && _connection.IsConnected)
        {
            try { await _connection.UnsubscribeAsync(subscription.MqttFilter, CancellationToken.None).ConfigureAwait(false); }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or ObjectDisposedException or InvalidOperationException)
            {
                _logger.LogDebug(e, "Unsubscribe from {Filter} failed", subscription.MqttFilter);
            }
        }
    }

    // ---- receive ----

    private Task OnMessageReceivedAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        MqttApplicationMessage message = e.ApplicationMessage;
        ReadOnlySequence<byte> payload = message.Payload;
        byte[]? rentedPayload = null;
        byte[]? rentedTopic = null;
        try
        {
            ReadOnlySpan<byte> bytes;
            if (payload.IsSingleSegment) bytes = payload.FirstSpan;
            else
            {
                if (payload.Length > int.MaxValue / 2) { RejectBeforeVerification(message.Topic, RejectReason.Oversize, "payload too large"); return Task.CompletedTask; }
                rentedPayload = ArrayPool<byte>.Shared.Rent((int)payload.Length);
                payload.CopyTo(rentedPayload);
                bytes = rentedPayload.AsSpan(0, (int)payload.Length);
            }

            string topic = message.Topic;
            int maxTopicBytes = Encoding.UTF8.GetMaxByteCount(topic.Length);
            Span<byte> topicUtf8 = maxTopicBytes <= 512 ? stackalloc byte[512] : (rentedTopic = ArrayPool<byte>.Shared.Rent(maxTopicBytes));
            topicUtf8 = topicUtf8[..Encoding.UTF8.GetBytes(topic, topicUtf8)];

            var visitor = new ReceiveVisitor(this, message, string.Equals(message.ContentType, EnvelopeJson.ContentType, StringComparison.OrdinalIgnoreCase));
            if (!Messages.TryDispatch(topicUtf8, bytes, ref visitor))
            {
                RejectBeforeVerification(topic, RejectReason.UnknownTopic, $"'{topic}' is not a topic of the Alicia tree");
                return Task.CompletedTask;
            }
            return visitor.Result;
        }
        finally
        {
            if (rentedPayload is not null) ArrayPool<byte>.Shared.Return(rentedPayload);
            if (rentedTopic is not null) ArrayPool<byte>.Shared.Return(rentedTopic);
        }
    }

    private struct ReceiveVisitor(AliciaBus bus, MqttApplicationMessage message, bool json) : IMessageVisitor
    {
        public Task Result = Task.CompletedTask;

        public void Visit<T>(ReadOnlySpan<byte> topic, ReadOnlySpan<byte> payload) where T : IAliciaMessage<T>
        {
            // Marked by the embedded broker's gateway: verified once there, only decoded here.
            Verdict verdict = bus._verifier.VerifyUnlessMarked(message.Topic, payload, json, VerifiedMark.Find(message.UserProperties), out Envelope<T> envelope, out bool marked);
            if (!verdict.Accepted)
            {
                bus.Reject(message.Topic, verdict);
                return;
            }
            if (envelope.IsSealed)
            {
                // Only the recipient can open it; everyone else verified it and lets it pass by.
                if (envelope.Encryption!.Recipient != bus.Name) return;
                string? problem = "this client has no X25519 key";
                if (bus.PayloadCipher is not { } cipher || !cipher.TryOpen(envelope, message.Topic, out envelope, out problem))
                {
                    bus.RejectBeforeVerification(message.Topic, RejectReason.Malformed, $"encrypted message {envelope.MessageId} from '{envelope.Source}' cannot be opened: {problem}");
                    return;
                }
            }
            else if (bus._options.EncryptedTopics.Count > 0 && bus.IsSensitive(message.Topic))
            {
                bus.RejectBeforeVerification(message.Topic, RejectReason.Unencrypted, $"message {envelope.MessageId} from '{envelope.Source}' on a sensitive topic is not encrypted");
                return;
            }
            using System.Diagnostics.Activity? span = Tracing.BusTracing.StartDeliver(message.Topic, envelope);
            ValueTask delivery = bus.DeliverAsync(new BusMessage<T>(message.Topic, envelope, message.ResponseTopic, message.CorrelationData) { ArrivedAsJson = json || SentAsJson(message), VerifiedAtGateway = marked });
            Result = delivery.IsCompletedSuccessfully ? Task.CompletedTask : delivery.AsTask();
        }
    }

    /// <summary>A JSON envelope the gateway countersigned and re-encoded says so in a user property.</summary>
    private static bool SentAsJson(MqttApplicationMessage message) =>
        message.UserProperties?.Exists(p => p.Name == OriginalContentTypeProperty && p.ValueBuffer.Span.SequenceEqual(JsonContentTypeUtf8)) == true;

    private static ReadOnlySpan<byte> JsonContentTypeUtf8 => "application/json"u8;

    /// <summary>Refusals the verifier never saw are counted here, so every reason shows in the metrics.</summary>
    private void RejectBeforeVerification(string topic, RejectReason reason, string detail)
    {
        Metrics.Rejected(reason);
        Reject(topic, new Verdict(reason, detail));
    }

    private void Reject(string topic, Verdict verdict)
    {
        if (_rejectionLog.Allow()) _logger.LogWarning("Refused message on {Topic}: {Reason}: {Detail}", topic, verdict.Reason.ToName(), verdict.Detail);
        Rejected?.Invoke(topic, verdict);
    }

    private ValueTask DeliverAsync<T>(BusMessage<T> message) where T : IAliciaMessage<T>
    {
        if (message.Envelope.Kind == MessageKind.Response && message.CorrelationData is { Length: 16 } correlation
            && string.Equals(message.Envelope.Destination, Name, StringComparison.Ordinal)
            && _pending.TryRemove(new Guid(correlation, bigEndian: true), out PendingRequest? pending))
        {
            pending.Complete(message);
        }

        Subscription[] subscriptions = Volatile.Read(ref _subscriptions);
        string destination = message.Envelope.Destination;
        bool forUs = destination == EnvelopeHeader.Broadcast || string.Equals(destination, Name, StringComparison.Ordinal);
        for (int i = 0; i < subscriptions.Length; i++)
        {
            if (subscriptions[i] is not Subscription<T> typed || !typed.Matches(message.Topic)) continue;
            if (!forUs && !typed.ReceiveAll) continue;
            ValueTask enqueue = typed.EnqueueAsync(message);
            if (!enqueue.IsCompletedSuccessfully) return DeliverSlowAsync(enqueue, message, subscriptions, i + 1, forUs);
        }
        return ValueTask.CompletedTask;
    }

    private async ValueTask DeliverSlowAsync<T>(ValueTask pendingEnqueue, BusMessage<T> message, Subscription[] subscriptions, int next, bool forUs) where T : IAliciaMessage<T>
    {
        await pendingEnqueue.ConfigureAwait(false);
        for (int i = next; i < subscriptions.Length; i++)
        {
            if (subscriptions[i] is not Subscription<T> typed || !typed.Matches(message.Topic)) continue;
            if (!forUs && !typed.ReceiveAll) continue;
            await typed.EnqueueAsync(message).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Subscription[] subscriptions;
        lock (_subscriptionLock) subscriptions = _subscriptions;
        foreach (Subscription s in subscriptions) await s.DisposeAsync().ConfigureAwait(false);
        foreach (PendingRequest p in _pending.Values) p.Cancel();
        await _connection.DisposeAsync().ConfigureAwait(false);
        while (_writers.TryTake(out PooledBufferWriter? w)) w.Dispose();
    }
}
