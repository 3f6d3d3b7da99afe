using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Engine.Security;
using BenchmarkDotNet.Attributes;
using System.Text;

namespace Alicia.Benchmarks;

/// <summary>
/// <see cref="AliciaDispatcher.TryDispatch{TVisitor}"/> with struct visitors: the cost of routing alone
/// (topic match + generic call), and routing followed by verification and decoding (what the bus's
/// receive loop does for every message).
/// </summary>
[MemoryDiagnoser]
public class DispatchBenchmarks
{
    private SigningIdentity _identity = null!;
    private EnvelopeVerifier _verifier = null!;
    private byte[] _signed = [];
    private static readonly byte[] TelemetryTopic = Encoding.UTF8.GetBytes(SensorTelemetry.Topic);
    private static readonly byte[] StatusTopic = Encoding.UTF8.GetBytes("alicia/devices/living-room-lamp-7/status");

    /// <summary>Records which message type the topic was routed to; touches nothing else.</summary>
    private struct TypeRecorder : IMessageVisitor
    {
        public Type? Routed;
        public int PayloadLength;

        public void Visit<T>(ReadOnlySpan<byte> topic, ReadOnlySpan<byte> payload) where T : IAliciaMessage<T>
        {
            Routed = typeof(T);
            PayloadLength = payload.Length;
        }
    }

    /// <summary>Verifies and decodes the payload as the routed type, like the bus's receive visitor.</summary>
    private struct VerifyingVisitor(EnvelopeVerifier verifier, string topic) : IMessageVisitor
    {
        public Verdict Verdict;
        public double Value;

        public void Visit<T>(ReadOnlySpan<byte> topicUtf8, ReadOnlySpan<byte> payload) where T : IAliciaMessage<T>
        {
            Verdict = verifier.Verify(topic, payload, out Envelope<T> envelope);
            if (envelope.Data is SensorTelemetry t) Value = t.Value;
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        _identity = SigningIdentity.Create(Fixtures.DeviceName);
        _verifier = Fixtures.Verifier(_identity);
        _signed = Fixtures.Sign(_identity, SensorTelemetry.Topic, Fixtures.TelemetryEnvelope());
        Fixtures.Require(DispatchAndVerify() == 21.5, "dispatch + verify did not accept the message");
        Fixtures.Require(DispatchAndVerify() == 21.5, "dispatch + verify did not accept the repeated message");
    }

    [GlobalCleanup]
    public void Cleanup() => _identity.Dispose();

    [Benchmark(Baseline = true)]
    public int DispatchRecordTypeTelemetry()
    {
        var visitor = new TypeRecorder();
        return AliciaDispatcher.TryDispatch(TelemetryTopic, _signed, ref visitor) ? visitor.PayloadLength : -1;
    }

    [Benchmark]
    public int DispatchRecordTypeStatus()
    {
        var visitor = new TypeRecorder();
        return AliciaDispatcher.TryDispatch(StatusTopic, _signed, ref visitor) ? visitor.PayloadLength : -1;
    }

    [Benchmark]
    public double DispatchAndVerify()
    {
        var visitor = new VerifyingVisitor(_verifier, SensorTelemetry.Topic);
        if (!AliciaDispatcher.TryDispatch(TelemetryTopic, _signed, ref visitor)) return -1;
        return visitor.Verdict.Accepted ? visitor.Value : -2;
    }
}
