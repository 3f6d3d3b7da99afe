using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Engine.Security;
using BenchmarkDotNet.Attributes;

namespace Alicia.Benchmarks;

/// <summary>
/// Verification is embarrassingly parallel: one <see cref="EnvelopeVerifier"/> (one trust store, one striped replay
/// filter, one metrics object), as the gateway shares it across every client's receive loop, verifying a batch of
/// <see cref="Batch"/> signed envelopes with one thread, then with two threads at once (half the batch each, distinct
/// senders and message ids). Time is per message, so the Ratio column (two / one) is 0.5 with perfect scaling on two
/// free cores and 1.0 when the verifiers serialize. The replay filter does its full work on every message (see
/// <see cref="ConcurrentReplayDefeatingClock"/>).
/// </summary>
[MemoryDiagnoser]
public class ParallelVerifyBenchmarks
{
    public const int Batch = 64;

    private SigningIdentity[] _identities = [];
    private byte[][] _messages = [];
    private EnvelopeVerifier _verifier = null!;
    private Action _first = null!;
    private Action _second = null!;

    [GlobalSetup]
    public void Setup()
    {
        var options = new VerifierOptions();
        var trust = new TrustStore();
        _identities = [SigningIdentity.Create("sensor-a"), SigningIdentity.Create("sensor-b")];
        foreach (SigningIdentity id in _identities) trust.Trust(id.Name, id.PublicKey);
        _verifier = new EnvelopeVerifier(trust, options, clock: new ConcurrentReplayDefeatingClock(Fixtures.FixedNow, options.MaxClockSkew * 2));
        _messages = [.. _identities.Select(id => Fixtures.Sign(id, Fixtures.TelemetryTopic, Fixtures.TelemetryEnvelope(id.Name)))];
        _first = () => Run(0, Batch / 2);
        _second = () => Run(1, Batch / 2);
        Run(0, 4);
        Run(1, 4);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (SigningIdentity id in _identities) id.Dispose();
    }

    private void Run(int sender, int count)
    {
        byte[] message = _messages[sender];
        for (int i = 0; i < count; i++)
        {
            Verdict verdict = _verifier.Verify(Fixtures.TelemetryTopic, message, out Envelope<SensorTelemetry> _);
            if (!verdict.Accepted) throw new InvalidOperationException(verdict.ToString());
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public void OneVerifier()
    {
        Run(0, Batch / 2);
        Run(1, Batch / 2);
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public void TwoVerifiers() => Parallel.Invoke(_first, _second);
}

/// <summary>
/// <see cref="ReplayDefeatingClock"/> for several threads: the timestamp advances atomically by more than the replay
/// window on every call, so an id recorded by any thread has expired by the next call and the same signed message is
/// accepted again, while the filter still evicts, looks up and inserts each time.
/// </summary>
public sealed class ConcurrentReplayDefeatingClock(DateTimeOffset now, TimeSpan replayWindow) : TimeProvider
{
    private readonly long _step = (long)((replayWindow.TotalSeconds + 1) * global::System.Diagnostics.Stopwatch.Frequency);
    private long _timestamp;

    public override DateTimeOffset GetUtcNow() => now;

    public override long GetTimestamp() => Interlocked.Add(ref _timestamp, _step);
}
