using System.Collections.Concurrent;
using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Contracts.Serialization;
using Alicia.Engine.Bus;
using Alicia.Engine.Security;
using MQTTnet;

namespace Alicia.Integration.Tests;

/// <summary>
/// The bus contract, run unchanged against the embedded broker and against Mosquitto: whatever broker
/// carries the traffic, signed messages arrive typed and verified, and bad ones are refused with the
/// right reason while everyone else keeps being served.
/// </summary>
public abstract class BusSuite
{
    protected abstract BrokerEndpoint Endpoint { get; }

    private static DeviceData Reading(double value) => new() { Values = new Dictionary<string, double> { ["temperature"] = value } };

    [Fact]
    public async Task Signed_event_reaches_a_typed_subscriber()
    {
        await using var peers = new Peers();
        AliciaBus subscriber = await peers.Bus("hub", Endpoint);
        AliciaBus device = await peers.Bus("sensor", Endpoint);
        string topic = DeviceData.BuildTopic(device.Name);
        var received = new TaskCompletionSource<BusMessage<DeviceData>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await subscriber.SubscribeAsync<DeviceData>((m, _) => { received.TrySetResult(m); return ValueTask.CompletedTask; }, new SubscribeOptions { Filter = topic });

        await device.PublishAsync(Reading(21.5), new PublishOptions { Topic = topic });

        BusMessage<DeviceData> message = await received.Within();
        Assert.Equal(21.5, message.Data.Values["temperature"]);
        Assert.Equal(device.Name, message.Source);
        Assert.Equal(topic, message.Topic);
        Assert.Equal(MessageKind.Event, message.Envelope.Kind);
        Assert.Equal(Attestation.SourceSigned, message.Envelope.Attestation);
        Assert.True(DeviceData.TryParseTopic(System.Text.Encoding.UTF8.GetBytes(message.Topic), out Range id));
        Assert.Equal(device.Name, message.Topic[id]);
    }

    [Fact]
    public async Task Json_envelope_is_delivered_like_messagepack()
    {
        await using var peers = new Peers();
        AliciaBus subscriber = await peers.Bus("hub", Endpoint);
        AliciaBus device = await peers.Bus("esp32", Endpoint);
        string topic = DeviceData.BuildTopic(device.Name);
        var received = new TaskCompletionSource<BusMessage<DeviceData>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await subscriber.SubscribeAsync<DeviceData>((m, _) => { received.TrySetResult(m); return ValueTask.CompletedTask; }, new SubscribeOptions { Filter = topic });

        await device.PublishAsync(Reading(7.25), new PublishOptions { Topic = topic, Json = true });

        BusMessage<DeviceData> message = await received.Within();
        Assert.Equal(7.25, message.Data.Values["temperature"]);
        Assert.Equal(Attestation.SourceSigned, message.Envelope.Attestation);
    }

    [Fact]
    public async Task Request_is_answered_with_response_topic_and_correlation_data()
    {
        await using var peers = new Peers();
        AliciaBus service = await peers.Bus("api", Endpoint);
        AliciaBus client = await peers.Bus("client", Endpoint);
        await service.RespondAsync<ApiRequest, ApiResponse>((request, _) =>
            ValueTask.FromResult(new ApiResponse { Status = 200, Body = $"echo {request.Data.Arguments["text"]} for {request.Source}" }));

        BusMessage<ApiResponse> reply = await client.RequestAsync<ApiRequest, ApiResponse>(
            new ApiRequest { Operation = "echo", Arguments = new Dictionary<string, string> { ["text"] = "hello" } }, service.Name, timeout: Waits.Long);

        Assert.Equal(200, reply.Data.Status);
        Assert.Equal($"echo hello for {client.Name}", reply.Data.Body);
        Assert.Equal(service.Name, reply.Source);
        Assert.Equal(client.Name, reply.Envelope.Destination);
        Assert.Equal(MessageKind.Response, reply.Envelope.Kind);
    }

    [Fact]
    public async Task Request_nobody_answers_times_out_naming_the_destination()
    {
        await using var peers = new Peers();
        AliciaBus client = await peers.Bus("client", Endpoint);
        var e = await Assert.ThrowsAsync<TimeoutException>(() =>
            client.RequestAsync<ApiRequest, ApiResponse>(new ApiRequest { Operation = "ping" }, peers.Name("nobody"), timeout: TimeSpan.FromMilliseconds(300)));
        Assert.Contains(peers.Name("nobody"), e.Message);
    }

    public enum Attack { BadSignature, Unsigned, Stale, Malformed, UnknownSource, TopicSwap, Oversize, UnknownTopic, ForeignKey }

    [Theory]
    [InlineData(Attack.BadSignature, RejectReason.BadSignature)]
    [InlineData(Attack.Unsigned, RejectReason.Unsigned)]
    [InlineData(Attack.Stale, RejectReason.Stale)]
    [InlineData(Attack.Malformed, RejectReason.Malformed)]
    [InlineData(Attack.UnknownSource, RejectReason.UnknownSource)]
    [InlineData(Attack.TopicSwap, RejectReason.BadSignature)]
    [InlineData(Attack.Oversize, RejectReason.Oversize)]
    [InlineData(Attack.UnknownTopic, RejectReason.UnknownTopic)]
    [InlineData(Attack.ForeignKey, RejectReason.BadSignature)]
    public async Task Bad_message_is_refused_with_its_reason_and_the_bus_keeps_serving(Attack attack, RejectReason expected)
    {
        await using var peers = new Peers();
        AliciaBus subscriber = await peers.Bus("hub", Endpoint, new VerifierOptions { MaxMessageBytes = 4096 });
        SigningIdentity device = peers.Identity("sensor");
        string topic = DeviceData.BuildTopic(device.Name);
        var refused = new TaskCompletionSource<Verdict>(TaskCreationOptions.RunContinuationsAsynchronously);
        subscriber.Rejected += (_, verdict) => refused.TrySetResult(verdict);
        var delivered = new ConcurrentQueue<BusMessage<DeviceData>>();
        var good = new TaskCompletionSource<BusMessage<DeviceData>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await subscriber.SubscribeAsync<DeviceData>((m, _) =>
        {
            delivered.Enqueue(m);
            if (m.Data.Values.ContainsKey("good")) good.TrySetResult(m);
            return ValueTask.CompletedTask;
        }, new SubscribeOptions { Filter = $"alicia/devices/{device.Name}/#" });
        IMqttClient raw = await peers.RawClient(Endpoint);

        (string attackTopic, byte[] payload) = Craft(attack, device, topic, peers);
        await Peers.PublishRaw(raw, attackTopic, payload);
        Verdict verdict = await refused.Within();

        Assert.Equal(expected, verdict.Reason);
        Assert.False(string.IsNullOrEmpty(verdict.Detail));
        Assert.Equal(1, subscriber.Metrics.RejectedCount(expected));

        // The same subscriber still takes the next legitimate message.
        var legit = new Envelope<DeviceData>(EnvelopeHeader.Create(device.Name, "broadcast", MessageKind.Event),
            new DeviceData { Values = new Dictionary<string, double> { ["good"] = 1 } });
        await Peers.PublishRaw(raw, topic, Peers.Sign(device, topic, legit));
        BusMessage<DeviceData> next = await good.Within();
        Assert.Equal(legit.MessageId, next.MessageId);
        Assert.Single(delivered);
    }

    private static (string Topic, byte[] Payload) Craft(Attack attack, SigningIdentity device, string topic, Peers peers)
    {
        Envelope<DeviceData> Envelope(DateTimeOffset? at = null) =>
            new(new EnvelopeHeader(Guid.CreateVersion7(), at ?? DateTimeOffset.UtcNow, device.Name, "broadcast", MessageKind.Event), Reading(1));
        switch (attack)
        {
            case Attack.BadSignature:
                byte[] signed = Peers.Sign(device, topic, Envelope());
                signed[^5] ^= 0xff;
                return (topic, signed);
            case Attack.Unsigned:
                var writer = new System.Buffers.ArrayBufferWriter<byte>();
                var mp = new MsgPackWriter(writer);
                EnvelopeCodec.Write(ref mp, Envelope(), reserveSignature: false);
                mp.Flush();
                return (topic, writer.WrittenSpan.ToArray());
            case Attack.Stale:
                return (topic, Peers.Sign(device, topic, Envelope(DateTimeOffset.UtcNow.AddMinutes(-5))));
            case Attack.Malformed:
                return (topic, "this is not an envelope"u8.ToArray());
            case Attack.UnknownSource:
                SigningIdentity stranger = peers.Identity("stranger", trusted: false);
                string strangerTopic = DeviceData.BuildTopic(device.Name);
                var strangerEnvelope = new Envelope<DeviceData>(EnvelopeHeader.Create(stranger.Name, "broadcast", MessageKind.Event), Reading(1));
                return (strangerTopic, Peers.Sign(stranger, strangerTopic, strangerEnvelope));
            case Attack.TopicSwap:
                // Validly signed for the status-free data topic of another device, then moved onto ours.
                string elsewhere = DeviceData.BuildTopic(device.Name + "-other");
                return (topic, Peers.Sign(device, elsewhere, Envelope()));
            case Attack.Oversize:
                return (topic, new byte[8192]);
            case Attack.UnknownTopic:
                return ($"alicia/devices/{device.Name}/firmware", Peers.Sign(device, topic, Envelope()));
            case Attack.ForeignKey:
                SigningIdentity impostor = peers.Identity("impostor");
                using (var claimed = new SigningIdentity(device.Name, impostor.Key))
                    return (topic, Peers.Sign(claimed, topic, Envelope()));
            default:
                throw new ArgumentOutOfRangeException(nameof(attack));
        }
    }

    [Fact]
    public async Task Replayed_bytes_are_refused_after_the_first_delivery()
    {
        await using var peers = new Peers();
        AliciaBus subscriber = await peers.Bus("hub", Endpoint);
        SigningIdentity device = peers.Identity("sensor");
        string topic = DeviceData.BuildTopic(device.Name);
        var first = new TaskCompletionSource<BusMessage<DeviceData>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var refused = new TaskCompletionSource<Verdict>(TaskCreationOptions.RunContinuationsAsynchronously);
        int deliveries = 0;
        subscriber.Rejected += (_, v) => refused.TrySetResult(v);
        await subscriber.SubscribeAsync<DeviceData>((m, _) => { Interlocked.Increment(ref deliveries); first.TrySetResult(m); return ValueTask.CompletedTask; }, new SubscribeOptions { Filter = topic });
        IMqttClient raw = await peers.RawClient(Endpoint);
        byte[] bytes = Peers.Sign(device, topic, new Envelope<DeviceData>(EnvelopeHeader.Create(device.Name, "broadcast", MessageKind.Event), Reading(3)));

        await Peers.PublishRaw(raw, topic, bytes);
        await first.Within();
        await Peers.PublishRaw(raw, topic, bytes);

        Assert.Equal(RejectReason.Replayed, (await refused.Within()).Reason);
        Assert.Equal(1, Volatile.Read(ref deliveries));
    }

    [Fact]
    public async Task Messages_for_another_destination_reach_only_monitors()
    {
        await using var peers = new Peers();
        AliciaBus hub = await peers.Bus("hub", Endpoint);
        AliciaBus monitor = await peers.Bus("monitor", Endpoint);
        AliciaBus device = await peers.Bus("lamp", Endpoint);
        string topic = DeviceData.BuildTopic(device.Name);
        var hubGot = new TaskCompletionSource<BusMessage<DeviceData>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var monitorGot = new ConcurrentQueue<string>();
        var monitorDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await hub.SubscribeAsync<DeviceData>((m, _) => { hubGot.TrySetResult(m); return ValueTask.CompletedTask; }, new SubscribeOptions { Filter = topic });
        await monitor.SubscribeAsync<DeviceData>((m, _) =>
        {
            monitorGot.Enqueue(m.Envelope.Destination);
            if (monitorGot.Count == 2) monitorDone.TrySetResult();
            return ValueTask.CompletedTask;
        }, new SubscribeOptions { Filter = topic, ReceiveAll = true });

        await device.PublishAsync(Reading(1), new PublishOptions { Topic = topic, Destination = peers.Name("someone-else") });
        await device.PublishAsync(Reading(2), new PublishOptions { Topic = topic, Destination = hub.Name });

        BusMessage<DeviceData> toHub = await hubGot.Within();
        Assert.Equal(2, toHub.Data.Values["temperature"]);
        await monitorDone.Within();
        Assert.Equal([peers.Name("someone-else"), hub.Name], monitorGot.ToArray());
    }

    [Fact]
    public async Task Shared_subscription_gives_each_message_to_exactly_one_member()
    {
        await using var peers = new Peers();
        AliciaBus worker1 = await peers.Bus("worker1", Endpoint);
        AliciaBus worker2 = await peers.Bus("worker2", Endpoint);
        AliciaBus device = await peers.Bus("mic", Endpoint);
        string topic = DeviceData.BuildTopic(device.Name);
        const int total = 60;
        var seen = new ConcurrentDictionary<Guid, string>();
        int count1 = 0, count2 = 0, duplicates = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Func<BusMessage<DeviceData>, CancellationToken, ValueTask> Handler(string who, Func<int> increment) => (m, _) =>
        {
            if (!seen.TryAdd(m.MessageId, who)) Interlocked.Increment(ref duplicates);
            increment();
            if (seen.Count == total) all.TrySetResult();
            return ValueTask.CompletedTask;
        };
        var options = new SubscribeOptions { Filter = topic, ShareGroup = peers.Name("stt") };
        await worker1.SubscribeAsync(Handler("w1", () => Interlocked.Increment(ref count1)), options);
        await worker2.SubscribeAsync(Handler("w2", () => Interlocked.Increment(ref count2)), options);

        for (int i = 0; i < total; i++) await device.PublishAsync(Reading(i), new PublishOptions { Topic = topic });

        await all.Within();
        Assert.Equal(0, Volatile.Read(ref duplicates));
        Assert.Equal(total, Volatile.Read(ref count1) + Volatile.Read(ref count2));
        Assert.True(count1 > 0 && count2 > 0, $"work was not shared: {count1} / {count2}");
    }

    [Fact]
    public async Task Burst_of_qos1_messages_arrives_complete()
    {
        await using var peers = new Peers();
        AliciaBus subscriber = await peers.Bus("hub", Endpoint);
        AliciaBus[] devices = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => peers.Bus($"burst{i}", Endpoint)));
        const int perDevice = 500;
        var ids = new ConcurrentDictionary<Guid, byte>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var names = devices.Select(d => d.Name).ToHashSet();
        await subscriber.SubscribeAsync<DeviceData>((m, _) =>
        {
            if (!names.Contains(m.Source)) return ValueTask.CompletedTask;
            ids.TryAdd(m.MessageId, 0);
            if (ids.Count == perDevice * devices.Length) all.TrySetResult();
            return ValueTask.CompletedTask;
        }, new SubscribeOptions { Filter = "alicia/devices/+/data" });

        await Task.WhenAll(devices.Select(async d =>
        {
            string topic = DeviceData.BuildTopic(d.Name);
            for (int i = 0; i < perDevice; i++) await d.PublishAsync(Reading(i), new PublishOptions { Topic = topic });
        }));

        await all.Within(TimeSpan.FromSeconds(60));
        Assert.Equal(perDevice * devices.Length, ids.Count);
        Assert.Equal(0, subscriber.Metrics.RejectedCount(RejectReason.Replayed));
    }
}
