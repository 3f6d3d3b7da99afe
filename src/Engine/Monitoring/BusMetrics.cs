using System.Diagnostics.Metrics;
using Alicia.Engine.Security;

namespace Alicia.Engine.Monitoring;

/// <summary>
/// The bus's counters, published through <see cref="System.Diagnostics.Metrics"/> (meter "Alicia.Bus")
/// for exporters, and kept as plain numbers for the CLI, health reports and tests.
/// </summary>
public sealed class BusMetrics : IDisposable
{
    public const string MeterName = "Alicia.Bus";

    private readonly Meter _meter;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _accepted;
    private readonly Counter<long> _published;
    private readonly Counter<long> _qos0Dropped;
    private readonly Counter<long> _qos1Dropped;
    private readonly Counter<long> _backpressureWaits;
    private readonly Counter<long> _sequenceGaps;
    private long _sequenceGapCount;
    private readonly long[] _rejectedByReason = new long[Enum.GetValues<RejectReason>().Length];
    private long _acceptedCount, _publishedCount, _qos0DroppedCount, _qos1DroppedCount, _backpressureCount;

    /// <summary>The meter these counters live on (listeners can tell one engine's metrics from another's).</summary>
    public Meter Meter => _meter;

    public BusMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _rejected = _meter.CreateCounter<long>("alicia.bus.messages.rejected", "{message}", "Messages refused by signature, replay, skew, size or format checks, by reason");
        _accepted = _meter.CreateCounter<long>("alicia.bus.messages.accepted", "{message}", "Messages that passed verification and were delivered to handlers");
        _published = _meter.CreateCounter<long>("alicia.bus.messages.published", "{message}", "Signed messages published by this engine's clients");
        _qos0Dropped = _meter.CreateCounter<long>("alicia.broker.qos0.dropped", "{message}", "QoS 0 messages the embedded broker dropped from a full client queue");
        _qos1Dropped = _meter.CreateCounter<long>("alicia.broker.qos1.dropped", "{message}", "QoS 1+ messages dropped from a full client queue (must stay 0: publishers are slowed down instead)");
        _sequenceGaps = _meter.CreateCounter<long>("alicia.bus.sequence.missing", "{message}", "Messages missing from a source's sequence numbers (lost or withheld)");
        _backpressureWaits = _meter.CreateCounter<long>("alicia.broker.backpressure.waits", "{publish}", "Publishes held back because a subscriber's queue was near full");
    }

    internal void Rejected(RejectReason reason)
    {
        Interlocked.Increment(ref _rejectedByReason[(int)reason]);
        _rejected.Add(1, new KeyValuePair<string, object?>("reason", reason.ToName()));
    }

    internal void Accepted()
    {
        Interlocked.Increment(ref _acceptedCount);
        _accepted.Add(1);
    }

    internal void Published()
    {
        Interlocked.Increment(ref _publishedCount);
        _published.Add(1);
    }

    internal void Qos0Dropped()
    {
        Interlocked.Increment(ref _qos0DroppedCount);
        _qos0Dropped.Add(1);
    }

    internal void Qos1Dropped()
    {
        Interlocked.Increment(ref _qos1DroppedCount);
        _qos1Dropped.Add(1);
    }

    internal void BackpressureWait()
    {
        Interlocked.Increment(ref _backpressureCount);
        _backpressureWaits.Add(1);
    }

    internal void SequenceGap(long missing)
    {
        Interlocked.Add(ref _sequenceGapCount, missing);
        _sequenceGaps.Add(missing);
    }

    public long SequenceGapCount => Interlocked.Read(ref _sequenceGapCount);

    public long RejectedCount(RejectReason reason) => Interlocked.Read(ref _rejectedByReason[(int)reason]);
    public long AcceptedCount => Interlocked.Read(ref _acceptedCount);
    public long PublishedCount => Interlocked.Read(ref _publishedCount);
    public long Qos0DroppedCount => Interlocked.Read(ref _qos0DroppedCount);
    public long Qos1DroppedCount => Interlocked.Read(ref _qos1DroppedCount);
    public long BackpressureWaitCount => Interlocked.Read(ref _backpressureCount);

    public void Dispose() => _meter.Dispose();
}
