using System.Buffers;
using System.Diagnostics;
using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Security;
using Alicia.TestSupport;
using HdrHistogram;
using MQTTnet.Protocol;

namespace Alicia.Load;

internal sealed class TargetResult
{
    public required string Target { get; init; }
    public required LoadOptions Options { get; init; }
    public long Attempted { get; init; }
    public long Sent { get; init; }
    public long Failed { get; init; }
    public long Delivered { get; init; }
    public long Duplicates { get; init; }
    public long Rejected { get; init; }
    public long Lost => Math.Max(0, Sent - Delivered);
    public double SendSeconds { get; init; }
    public double DeliverSeconds { get; init; }
    public double SentPerSecond => SendSeconds > 0 ? Sent / SendSeconds : 0;
    public double DeliveredPerSecond => DeliverSeconds > 0 ? Delivered / DeliverSeconds : 0;
    public required LongHistogram Latency { get; init; }
    public LongHistogram? ScheduleLatency { get; init; }
    public int EnvelopeBytes { get; init; }
    public double ProcessCpuSeconds { get; init; }
    public double? BrokerCpuSeconds { get; init; }
    public long AllocatedBytes { get; init; }
    public int Gen0 { get; init; }
    public int Gen1 { get; init; }
    public int Gen2 { get; init; }
    public long BrokerQos1Dropped { get; init; }
    public long BrokerQos0Dropped { get; init; }
    public long BackpressureWaits { get; init; }
    public string? FirstError { get; init; }
    public LongConcurrentHistogram? PacerLateness { get; init; }
    public string? AllocationProfile { get; init; }
}

/// <summary>Receives, checks and times every telemetry message on the verifying subscriber (one worker: no locking).</summary>
internal sealed class Receiver
{
    private readonly Dictionary<string, int> _deviceIndex;
    private readonly SeenSet[] _seen;
    private readonly int _warmup;
    private long _delivered, _duplicates, _warmupDelivered, _lastReceive;

    // The schedule of paced runs, so latency can also be measured from when a message was due
    // (which includes any time the publisher fell behind: no coordinated omission).
    private long _scheduleStartUtcTicks;
    private double _intervalTicks;
    private int _deviceCount;

    public Receiver(IReadOnlyList<string> devices, int warmup)
    {
        _deviceIndex = devices.Select((d, i) => (d, i)).ToDictionary(x => x.d, x => x.i, StringComparer.Ordinal);
        _seen = [.. devices.Select(_ => new SeenSet())];
        _warmup = warmup;
        _deviceCount = devices.Count;
    }

    public LongHistogram Latency { get; } = new(TimeSpan.FromMinutes(10).Ticks / 10, 3);
    public LongHistogram ScheduleLatency { get; } = new(TimeSpan.FromMinutes(10).Ticks / 10, 3);
    public long Delivered => Volatile.Read(ref _delivered);
    public long Duplicates => Volatile.Read(ref _duplicates);
    public long WarmupDelivered => Volatile.Read(ref _warmupDelivered);
    public long LastReceiveTimestamp => Volatile.Read(ref _lastReceive);

    public void StartSchedule(DateTimeOffset startUtc, double intervalSeconds)
    {
        _intervalTicks = intervalSeconds * TimeSpan.TicksPerSecond;
        Volatile.Write(ref _scheduleStartUtcTicks, startUtc.UtcTicks);
    }

    public ValueTask HandleAsync(BusMessage<SensorTelemetry> message, CancellationToken _)
    {
        DateTimeOffset now = TimeProvider.System.GetUtcNow();
        SensorTelemetry t = message.Data;
        if (!_deviceIndex.TryGetValue(t.DeviceId, out int device)) return ValueTask.CompletedTask;
        long seq = (long)t.Value;
        if (seq < _warmup)
        {
            Interlocked.Increment(ref _warmupDelivered);
            return ValueTask.CompletedTask;
        }
        long k = seq - _warmup;
        if (!_seen[device].Add(k))
        {
            Interlocked.Increment(ref _duplicates);
            return ValueTask.CompletedTask;
        }
        Latency.RecordValue(Clamp((now - message.Envelope.Timestamp).Ticks / 10));
        if (_intervalTicks > 0)
        {
            long due = Volatile.Read(ref _scheduleStartUtcTicks) + (long)((k + (double)device / _deviceCount) * _intervalTicks);
            ScheduleLatency.RecordValue(Clamp((now.UtcTicks - due) / 10));
        }
        Volatile.Write(ref _lastReceive, Stopwatch.GetTimestamp());
        Interlocked.Increment(ref _delivered);
        return ValueTask.CompletedTask;
    }

    private long Clamp(long micros) => Math.Clamp(micros, 0, Latency.HighestTrackableValue);

    /// <summary>A growable bitmap of sequence numbers seen.</summary>
    private sealed class SeenSet
    {
        private ulong[] _bits = new ulong[1024];

        public bool Add(long n)
        {
            long word = n >> 6;
            if (word >= _bits.Length) Array.Resize(ref _bits, (int)Math.Max(word + 1, _bits.Length * 2L));
            ulong mask = 1UL << (int)(n & 63);
            if ((_bits[word] & mask) != 0) return false;
            _bits[word] |= mask;
            return true;
        }
    }
}

internal static class LoadRun
{
    public static async Task<TargetResult> RunAsync(string target, LoadOptions o, TextWriter log)
    {
        EmbeddedBroker? broker = null;
        MosquittoBroker? mosquitto = null;
        AliciaBus? subscriber = null;
        IAsyncDisposable? subscription = null;
        var devices = new List<AliciaBus>();
        var identities = new List<SigningIdentity>();
        try
        {
            // ---- broker ----
            BrokerEndpoint deviceEndpoint, engineEndpoint;
            if (target == "embedded")
            {
                var brokerOptions = new EmbeddedBrokerOptions { Port = 0, ListenAddress = "127.0.0.1" };
                if (o.Watermark > 0) brokerOptions.BackpressureWatermark = o.Watermark;
                broker = new EmbeddedBroker(brokerOptions);
                await broker.StartAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                deviceEndpoint = BrokerEndpoint.Tcp("127.0.0.1", broker.TcpEndPoint!.Port);
                engineEndpoint = BrokerEndpoint.InProcess(broker.InMemory);
            }
            else
            {
                mosquitto = await MosquittoBroker.StartLoopbackAsync(o.Mosquitto, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                deviceEndpoint = engineEndpoint = BrokerEndpoint.Tcp("127.0.0.1", mosquitto.Port);
            }
            log.WriteLine($"[{target}] broker up: devices -> {deviceEndpoint}, engine -> {engineEndpoint}");

            // ---- identities and trust ----
            var engine = SigningIdentity.Create("load-engine");
            identities.Add(engine);
            var trust = new TrustStore();
            string[] names = [.. Enumerable.Range(0, o.Devices).Select(i => $"dev-{i:D3}")];
            foreach (string name in names)
            {
                var id = SigningIdentity.Create(name);
                identities.Add(id);
                trust.Trust(name, id.PublicKey);
            }
            var verifier = new EnvelopeVerifier(trust);
            // Devices never receive here; a small replay filter keeps ~13 MB per default verifier off the heap.
            var deviceVerifier = new EnvelopeVerifier(new TrustStore(), new VerifierOptions { ReplayCapacity = 1024 });

            string location = PaddedLocation(identities[1], o.PayloadBytes, out int envelopeBytes);

            // ---- subscriber (the engine) ----
            var receiver = new Receiver(names, o.Warmup);
            long rejected = 0;
            subscriber = await AliciaBus.ConnectAsync(engineEndpoint, engine, verifier, new BusOptions { ClientId = $"load-engine-{target}" })
                .WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            subscriber.Rejected += (_, _) => Interlocked.Increment(ref rejected);
            subscription = await subscriber.SubscribeAsync<SensorTelemetry>(receiver.HandleAsync,
                new SubscribeOptions { Filter = SensorTelemetry.TopicFilter, ReceiveAll = true }, concurrency: 1)
                .WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);

            // ---- devices ----
            for (int i = 0; i < o.Devices; i++)
            {
                devices.Add(await AliciaBus.ConnectAsync(deviceEndpoint, identities[i + 1], deviceVerifier, new BusOptions { ClientId = $"{names[i]}-{target}" })
                    .WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false));
            }
            var publish = new PublishOptions { Topic = SensorTelemetry.Topic, QualityOfService = o.Qos };

            // ---- warm-up (not measured) ----
            if (o.Warmup > 0)
            {
                using var warmCts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await Task.WhenAll(devices.Select(async (bus, i) =>
                {
                    for (int s = 0; s < o.Warmup; s++) await bus.PublishAsync(Telemetry(names[i], s, location), publish, warmCts.Token).ConfigureAwait(false);
                })).ConfigureAwait(false);
                long expected = (long)o.Warmup * o.Devices;
                var wait = Stopwatch.StartNew();
                while (receiver.WarmupDelivered < expected && wait.Elapsed < TimeSpan.FromSeconds(5)) await Task.Delay(10).ConfigureAwait(false);
                log.WriteLine($"[{target}] warm-up: {receiver.WarmupDelivered}/{expected} delivered");
            }

            // ---- measured send phase ----
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var process = Process.GetCurrentProcess();
            TimeSpan cpu0 = process.TotalProcessorTime;
            TimeSpan? brokerCpu0 = mosquitto?.CpuTime();
            long alloc0 = GC.GetTotalAllocatedBytes(precise: false);
            int g0 = GC.CollectionCount(0), g1 = GC.CollectionCount(1), g2 = GC.CollectionCount(2);

            using AllocationSampler? sampler = o.AllocProfile ? new AllocationSampler() : null;
            if (sampler is not null) sampler.Enabled = true;
            var lateness = new LongConcurrentHistogram(1, TimeSpan.FromMinutes(10).Ticks / 10, 3);
            double interval = o.Rate > 0 ? o.Devices / o.Rate : 0; // seconds between two messages of one device
            long attempted = 0, sent = 0, failed = 0;
            string? firstError = null;
            long freq = Stopwatch.Frequency;
            long durationTicks = (long)(o.DurationSeconds * freq);
            // Publishes held up past the end of the send phase are abandoned 10 s later (bounded run).
            using var sendCts = new CancellationTokenSource(TimeSpan.FromSeconds(o.DurationSeconds + 10));
            long t0 = Stopwatch.GetTimestamp();
            receiver.StartSchedule(TimeProvider.System.GetUtcNow(), interval);

            using var progressCts = new CancellationTokenSource();
            Task progress = ReportProgressAsync(target, log, () => (Interlocked.Read(ref sent), receiver.Delivered), progressCts.Token);

            var workers = new List<Task>();
            for (int d = 0; d < o.Devices; d++)
            {
                AliciaBus bus = devices[d];
                string name = names[d];
                long offset = interval > 0 ? (long)(interval * freq * d / o.Devices) : 0;
                var next = new StrongBox<long>(-1);
                for (int w = 0; w < o.InFlight; w++)
                {
                    workers.Add(Task.Run(async () =>
                    {
                        while (true)
                        {
                            long k = Interlocked.Increment(ref next.Value);
                            long due = t0 + offset + (long)(k * interval * freq);
                            if (due - t0 >= durationTicks || Stopwatch.GetTimestamp() - t0 >= durationTicks) return;
                            if (o.Messages > 0 && Interlocked.Increment(ref attempted) > o.Messages) { Interlocked.Decrement(ref attempted); return; }
                            if (o.Messages == 0) Interlocked.Increment(ref attempted);
                            if (interval > 0)
                            {
                                long wait = due - Stopwatch.GetTimestamp();
                                if (wait > freq / 2000) await Task.Delay(TimeSpan.FromSeconds((double)wait / freq), sendCts.Token).ConfigureAwait(false);
                                lateness.RecordValue(Math.Clamp((Stopwatch.GetTimestamp() - due) * 1_000_000 / freq, 0, lateness.HighestTrackableValue));
                            }
                            try
                            {
                                await bus.PublishAsync(Telemetry(name, o.Warmup + k, location), publish, sendCts.Token).ConfigureAwait(false);
                                Interlocked.Increment(ref sent);
                            }
                            catch (OperationCanceledException) when (sendCts.IsCancellationRequested)
                            {
                                Interlocked.Increment(ref failed);
                                return;
                            }
                            catch (Exception e)
                            {
                                Interlocked.Increment(ref failed);
                                Interlocked.CompareExchange(ref firstError, $"{e.GetType().Name}: {e.Message}", null);
                            }
                        }
                    }));
                }
            }
            try { await Task.WhenAll(workers).ConfigureAwait(false); }
            catch (OperationCanceledException) { }
            long t1 = Stopwatch.GetTimestamp();

            // ---- drain: wait for what is still on its way, bounded ----
            var drain = Stopwatch.StartNew();
            long lastDelivered = -1;
            var sinceProgress = Stopwatch.StartNew();
            while (receiver.Delivered < Interlocked.Read(ref sent) && drain.Elapsed.TotalSeconds < o.DrainSeconds)
            {
                long now = receiver.Delivered;
                if (now != lastDelivered) { lastDelivered = now; sinceProgress.Restart(); }
                else if (sinceProgress.Elapsed > TimeSpan.FromSeconds(3)) break;
                await Task.Delay(20).ConfigureAwait(false);
            }
            if (sampler is not null) sampler.Enabled = false;
            await progressCts.CancelAsync().ConfigureAwait(false);
            await progress.ConfigureAwait(false);

            process.Refresh();
            long last = receiver.LastReceiveTimestamp;
            var result = new TargetResult
            {
                Target = target,
                Options = o,
                Attempted = Interlocked.Read(ref attempted),
                Sent = Interlocked.Read(ref sent),
                Failed = Interlocked.Read(ref failed),
                Delivered = receiver.Delivered,
                Duplicates = receiver.Duplicates,
                Rejected = Interlocked.Read(ref rejected),
                SendSeconds = (double)(t1 - t0) / freq,
                DeliverSeconds = last > t0 ? (double)(last - t0) / freq : 0,
                Latency = receiver.Latency,
                ScheduleLatency = interval > 0 ? receiver.ScheduleLatency : null,
                EnvelopeBytes = envelopeBytes,
                ProcessCpuSeconds = (process.TotalProcessorTime - cpu0).TotalSeconds,
                BrokerCpuSeconds = mosquitto?.CpuTime() - brokerCpu0 is { } b ? b.TotalSeconds : null,
                AllocatedBytes = GC.GetTotalAllocatedBytes(precise: false) - alloc0,
                Gen0 = GC.CollectionCount(0) - g0,
                Gen1 = GC.CollectionCount(1) - g1,
                Gen2 = GC.CollectionCount(2) - g2,
                BrokerQos1Dropped = broker?.Metrics.Qos1DroppedCount ?? 0,
                BrokerQos0Dropped = broker?.Metrics.Qos0DroppedCount ?? 0,
                BackpressureWaits = broker?.Metrics.BackpressureWaitCount ?? 0,
                FirstError = firstError,
                PacerLateness = interval > 0 ? lateness : null,
                AllocationProfile = sampler?.Report(receiver.Delivered),
            };
            return result;
        }
        finally
        {
            foreach (AliciaBus bus in devices) await Bounded(bus.DisposeAsync()).ConfigureAwait(false);
            if (subscription is not null) await Bounded(subscription.DisposeAsync()).ConfigureAwait(false);
            if (subscriber is not null) await Bounded(subscriber.DisposeAsync()).ConfigureAwait(false);
            if (broker is not null) await Bounded(broker.DisposeAsync()).ConfigureAwait(false);
            if (mosquitto is not null) await mosquitto.DisposeAsync().ConfigureAwait(false);
            foreach (SigningIdentity id in identities) id.Dispose();
        }
    }

    private static async Task Bounded(ValueTask task)
    {
        try { await task.AsTask().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false); }
        catch (TimeoutException) { }
    }

    private static async Task ReportProgressAsync(string target, TextWriter log, Func<(long Sent, long Delivered)> read, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2));
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                (long sent, long delivered) = read();
                log.WriteLine($"[{target}] t={sw.Elapsed.TotalSeconds:0}s sent={sent} delivered={delivered}");
            }
        }
        catch (OperationCanceledException) { }
    }

    private static SensorTelemetry Telemetry(string device, long sequence, string location) => new()
    {
        DeviceId = device,
        Sensor = "temperature",
        Value = sequence,
        Unit = "celsius",
        Location = location,
    };

    /// <summary>A location string that brings the signed envelope to about <paramref name="targetBytes"/>.</summary>
    private static string PaddedLocation(SigningIdentity identity, int targetBytes, out int envelopeBytes)
    {
        var signer = new EnvelopeSigner(identity);
        int Size(string location)
        {
            var buffer = new ArrayBufferWriter<byte>();
            signer.Encode(buffer, SensorTelemetry.Topic, new Envelope<SensorTelemetry>(
                EnvelopeHeader.Create(identity.Name, EnvelopeHeader.Broadcast, MessageKind.Event), Telemetry(identity.Name, 123456, location)));
            return buffer.WrittenCount;
        }
        string loc = "kitchen";
        int baseSize = Size(loc);
        if (targetBytes > baseSize) loc += new string('x', targetBytes - baseSize);
        // A str8 header becomes str16 past 255 bytes: adjust once.
        int size = Size(loc);
        if (size > targetBytes && loc.Length > 7 + (size - targetBytes)) loc = loc[..^(size - targetBytes)];
        envelopeBytes = Size(loc);
        return loc;
    }
}

internal sealed class StrongBox<T>(T value)
{
    public T Value = value;
}
