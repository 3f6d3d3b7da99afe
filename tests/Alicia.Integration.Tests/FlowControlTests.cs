using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Bus.InMemory;
using Alicia.Engine.Monitoring;
using MQTTnet;
using MQTTnet.Channel;
using MQTTnet.Protocol;

namespace Alicia.Integration.Tests;

/// <summary>
/// The embedded broker's answer to MQTTnet's silent queue drops: QoS 1 publishers are held back while
/// a subscriber's queue is full, QoS 0 drops are counted. A subscriber that stops reading is simulated
/// by a transport whose reads wait on a gate, so the broker's queue for it really fills up.
/// </summary>
public sealed class FlowControlTests
{
    private sealed class GatedStream(Stream inner, Task gate) : Stream
    {
        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public bool Gated { get; set; }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Gated) await gate.WaitAsync(cancellationToken);
            return await inner.ReadAsync(buffer, cancellationToken);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.WriteAsync(buffer, offset, count, cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override void Flush() { }
        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private sealed class GatedProvider(InMemoryServerAdapter adapter, Task gate) : IMqttClientStreamProvider
    {
        public GatedStream? Stream { get; private set; }

        public Task<Stream> ConnectAsync(EndPoint brokerEndPoint, CancellationToken cancellationToken)
        {
            (System.IO.Pipelines.PipeReader input, System.IO.Pipelines.PipeWriter output) = adapter.ConnectPipes();
            Stream = new GatedStream(new Alicia.TestSupport.InMemory.DuplexPipeStream(input, output), gate);
            return Task.FromResult<Stream>(Stream);
        }
    }

    /// <summary>A subscriber that reads nothing until <c>Open</c>, then counts what arrives.</summary>
    private sealed class StalledSubscriber : IAsyncDisposable
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
        private GatedProvider? _provider;
        private int _received;
        private int _expected = int.MaxValue;
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string ClientId { get; } = "stalled-" + Guid.NewGuid().ToString("N")[..6];
        public int Received => Volatile.Read(ref _received);

        public async Task ConnectAsync(EmbeddedBroker broker, string filter, MqttQualityOfServiceLevel qos)
        {
            _provider = new GatedProvider(broker.InMemory, _gate.Task);
            _client.ApplicationMessageReceivedAsync += _ =>
            {
                if (Interlocked.Increment(ref _received) >= Volatile.Read(ref _expected)) _done.TrySetResult();
                return Task.CompletedTask;
            };
            await _client.ConnectAsync(new MqttClientOptionsBuilder().WithClientId(ClientId).WithTcpServer("in-memory", 1883).WithStreamProvider(_provider).Build());
            await _client.SubscribeAsync(filter, qos);
            _provider.Stream!.Gated = true;
        }

        public void Open() => _gate.TrySetResult();

        public Task WaitFor(int expected)
        {
            Volatile.Write(ref _expected, expected);
            if (Received >= expected) _done.TrySetResult();
            return _done.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }

        public async ValueTask DisposeAsync()
        {
            Open();
            if (_client.IsConnected) await _client.DisconnectAsync();
            _client.Dispose();
        }
    }

    private static TaskCompletionSource ObserveFirst(BusMetrics metrics, string instrument, out MeterListener listener)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        listener = new MeterListener
        {
            InstrumentPublished = (i, l) => { if (i.Meter == metrics.Meter && i.Name == instrument) l.EnableMeasurementEvents(i); },
        };
        listener.SetMeasurementEventCallback<long>((_, _, _, _) => seen.TrySetResult());
        listener.Start();
        return seen;
    }

    [Fact]
    public async Task Qos1_publisher_is_held_back_instead_of_the_broker_dropping_messages()
    {
        await using var broker = new EmbeddedBroker(new EmbeddedBrokerOptions { ListenTcp = false, BackpressureWatermark = 50, MaxPendingMessagesPerClient = 200, MaxBackpressureWait = TimeSpan.FromSeconds(60) });
        await broker.StartAsync();
        await using var peers = new Peers();
        await using var subscriber = new StalledSubscriber();
        await subscriber.ConnectAsync(broker, "alicia/devices/+/data", MqttQualityOfServiceLevel.AtLeastOnce);
        AliciaBus device = await peers.Bus("sensor", BrokerEndpoint.InProcess(broker.InMemory));
        TaskCompletionSource heldBack = ObserveFirst(broker.Metrics, "alicia.broker.backpressure.waits", out MeterListener listener);
        using (listener)
        {
            const int total = 1000; // five times the hard queue cap: without backpressure most would be dropped
            string topic = DeviceData.BuildTopic(device.Name);
            Task publishing = Task.Run(async () =>
            {
                for (int i = 0; i < total; i++)
                    await device.PublishAsync(new DeviceData { Values = new() { ["n"] = i } }, new PublishOptions { Topic = topic });
            });

            await heldBack.Within();
            Assert.False(publishing.IsCompleted, "the publisher finished although the subscriber read nothing");
            Assert.InRange(broker.PendingFor(subscriber.ClientId), 50, 200);

            subscriber.Open();
            await publishing.WaitAsync(TimeSpan.FromSeconds(60));
            await subscriber.WaitFor(total);
        }
        Assert.Equal(1000, subscriber.Received);
        Assert.Equal(0, broker.Metrics.Qos1DroppedCount);
        Assert.True(broker.Metrics.BackpressureWaitCount > 0);
    }

    [Fact]
    public async Task A_subscriber_at_qos0_does_not_hold_qos1_publishers_back()
    {
        // A QoS 1 message goes to a QoS 0 subscription at QoS 0: no PUBACK will ever come for it, so it
        // must stop counting once written, or every publisher would stall once 50 had passed.
        await using var broker = new EmbeddedBroker(new EmbeddedBrokerOptions { ListenTcp = false, BackpressureWatermark = 50, MaxBackpressureWait = TimeSpan.FromSeconds(60) });
        await broker.StartAsync();
        await using var peers = new Peers();
        IMqttClient watcher = await RawMqtt.ConnectAsync(BrokerEndpoint.InProcess(broker.InMemory), "qos0-watcher");
        int received = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        watcher.ApplicationMessageReceivedAsync += _ => { if (Interlocked.Increment(ref received) == 500) all.TrySetResult(); return Task.CompletedTask; };
        await watcher.SubscribeAsync("alicia/devices/+/data", MqttQualityOfServiceLevel.AtMostOnce);
        AliciaBus device = await peers.Bus("sensor", BrokerEndpoint.InProcess(broker.InMemory));
        string topic = DeviceData.BuildTopic(device.Name);

        for (int i = 0; i < 500; i++) await device.PublishAsync(new DeviceData { Values = new() { ["n"] = i } }, new PublishOptions { Topic = topic });

        // Every message reached the watcher (a stalled publisher would have waited 60 s per message and
        // timed out here), and none of them still counts against its queue. This read is exact, not a race:
        // each message was counted before its PUBACK reached the publisher (all awaited above), and released
        // before it was written to the watcher (all received). A count that stayed at 1 here was a message
        // released before it was counted (clamped at 0, then counted): a leak, which waiting would not cure.
        await all.Within();
        Assert.Equal(0, broker.PendingFor("qos0-watcher"));
        Assert.Equal(0, broker.Metrics.Qos1DroppedCount);
        await watcher.CloseAsync();
    }

    [Fact]
    public async Task Qos0_overflow_is_dropped_and_every_drop_is_counted()
    {
        await using var broker = new EmbeddedBroker(new EmbeddedBrokerOptions { ListenTcp = false, BackpressureWatermark = 50, MaxPendingMessagesPerClient = 100 });
        await broker.StartAsync();
        await using var peers = new Peers();
        await using var subscriber = new StalledSubscriber();
        await subscriber.ConnectAsync(broker, "alicia/devices/+/data", MqttQualityOfServiceLevel.AtMostOnce);
        AliciaBus device = await peers.Bus("chatty", BrokerEndpoint.InProcess(broker.InMemory));
        string topic = DeviceData.BuildTopic(device.Name);

        const int total = 600;
        var qos0 = new PublishOptions { Topic = topic, QualityOfService = QualityOfService.AtMostOnce };
        for (int i = 0; i < total; i++) await device.PublishAsync(new DeviceData { Values = new() { ["n"] = i } }, qos0);
        // The broker handles one client's packets in order: once this QoS 1 marker (to a topic nobody
        // subscribes to) is acknowledged, every QoS 0 message before it was queued or dropped.
        await device.PublishAsync(new DeviceStatus(), new PublishOptions { Topic = DeviceStatus.BuildTopic(peers.Name("marker")) });

        long dropped = broker.Metrics.Qos0DroppedCount;
        Assert.True(dropped > 0, "nothing was dropped although the subscriber read nothing");
        subscriber.Open();
        await subscriber.WaitFor(total - (int)dropped);
        Assert.Equal(total, subscriber.Received + dropped);
        Assert.Equal(0, broker.Metrics.Qos1DroppedCount);
    }

    [Fact]
    public async Task Client_reconnects_with_backoff_and_restores_its_subscriptions()
    {
        var options = new EmbeddedBrokerOptions { Port = 0 };
        var broker = new EmbeddedBroker(options);
        await broker.StartAsync();
        int port = broker.TcpEndPoint!.Port;
        BrokerEndpoint endpoint = BrokerEndpoint.Tcp("127.0.0.1", port);
        await using var peers = new Peers();
        AliciaBus subscriber = await peers.Bus("hub", endpoint);
        var received = new TaskCompletionSource<BusMessage<DeviceData>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await subscriber.SubscribeAsync<DeviceData>((m, _) => { received.TrySetResult(m); return ValueTask.CompletedTask; }, new SubscribeOptions { Filter = "alicia/devices/+/data" });
        var reconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        subscriber.Reconnected += () => reconnected.TrySetResult();

        await broker.DisposeAsync();
        await using var restarted = new EmbeddedBroker(new EmbeddedBrokerOptions { Port = port });
        await restarted.StartAsync();
        await reconnected.Within();

        AliciaBus device = await peers.Bus("sensor", endpoint);
        await device.PublishAsync(new DeviceData { Values = new() { ["after_restart"] = 1 } }, new PublishOptions { Topic = DeviceData.BuildTopic(device.Name) });
        BusMessage<DeviceData> message = await received.Within();
        Assert.Equal(1, message.Data.Values["after_restart"]);
        Assert.Equal(1, subscriber.Reconnects);
    }

    [Fact]
    public async Task A_taken_port_is_reported_with_what_to_do()
    {
        await using var first = new EmbeddedBroker(new EmbeddedBrokerOptions { Port = 0 });
        await first.StartAsync();
        int port = first.TcpEndPoint!.Port;
        await using var second = new EmbeddedBroker(new EmbeddedBrokerOptions { Port = port });

        var e = await Assert.ThrowsAsync<BrokerPortInUseException>(() => second.StartAsync());

        Assert.Contains($"127.0.0.1:{port} is already in use", e.Message);
        Assert.Contains($"--broker mqtt://127.0.0.1:{port}", e.Message);
        Assert.Contains("--port", e.Message);
    }

    [Fact]
    public async Task Embedded_broker_listens_on_loopback_only_by_default()
    {
        await using var broker = new EmbeddedBroker(new EmbeddedBrokerOptions { Port = 0 });
        await broker.StartAsync();
        Assert.Equal(IPAddress.Loopback, broker.TcpEndPoint!.Address);
        var listeners = System.Net.NetworkInformation.IPGlobalProperties.GetIPGlobalProperties().GetActiveTcpListeners()
            .Where(l => l.Port == broker.TcpEndPoint.Port).ToList();
        Assert.NotEmpty(listeners);
        Assert.All(listeners, l => Assert.True(IPAddress.IsLoopback(l.Address), $"also bound to {l.Address}"));
    }
}
