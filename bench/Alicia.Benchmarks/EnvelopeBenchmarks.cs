using System.Buffers;
using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Engine.Security;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using NSec.Cryptography;

namespace Alicia.Benchmarks;

/// <summary>
/// The cost of the envelope on the wire, each against bare NSec Ed25519 over the same number of bytes:
/// <list type="bullet">
/// <item>Sign: <see cref="EnvelopeSigner.Encode{T}"/> (MessagePack encode + sign + copy out) vs <c>Ed25519.Sign</c>.</item>
/// <item>Verify: <see cref="EnvelopeVerifier.Verify{T}"/> (decode + skew + trust + verify + replay) vs <c>Ed25519.Verify</c>;
/// and MarkedDecode, a message the gateway already verified (mark check + decode), as the engine's own subscribers take it.</item>
/// </list>
/// Each category has its own baseline, so the Ratio column is "Alicia / bare NSec".
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class EnvelopeBenchmarks
{
    private SigningIdentity _identity = null!;
    private EnvelopeSigner _signer = null!;
    private EnvelopeVerifier _verifier = null!;
    private Envelope<SensorTelemetry> _envelope;
    private readonly ArrayBufferWriter<byte> _output = new(4096);
    private byte[] _signedMessage = [];
    private byte[] _bareInput = [];
    private byte[] _bareSignature = new byte[64];
    private byte[] _markValue = [];

    [GlobalSetup]
    public void Setup()
    {
        _identity = SigningIdentity.Create(Fixtures.DeviceName);
        _signer = new EnvelopeSigner(_identity);
        _verifier = Fixtures.Verifier(_identity);
        _envelope = Fixtures.TelemetryEnvelope();
        _signedMessage = Fixtures.Sign(_identity, Fixtures.TelemetryTopic, _envelope);
        _verifier.Mark = new VerifiedMark();
        _markValue = _verifier.Mark.Create(Fixtures.TelemetryTopic, _signedMessage);

        // The bare baselines sign/verify exactly as many bytes as the envelope signer does.
        _bareInput = new byte[Fixtures.SignedLength(Fixtures.TelemetryTopic, _signedMessage.Length)];
        Random.Shared.NextBytes(_bareInput);
        SignatureAlgorithm.Ed25519.Sign(_identity.Key, _bareInput, _bareSignature);

        Fixtures.Require(SignatureAlgorithm.Ed25519.Verify(_identity.PublicKey, _bareInput, _bareSignature), "bare NSec baseline does not verify");
        for (int i = 0; i < 3; i++)
        {
            Verdict verdict = _verifier.Verify(Fixtures.TelemetryTopic, _signedMessage, out Envelope<SensorTelemetry> decoded);
            Fixtures.Require(verdict.Accepted, $"verification {i} was not accepted: {verdict}");
            Fixtures.Require(decoded.Data.Value == 21.5 && decoded.Attestation == Attestation.SourceSigned, "decoded envelope differs");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _identity.Dispose();

    [BenchmarkCategory("Sign"), Benchmark(Baseline = true)]
    public void NSecSign() => SignatureAlgorithm.Ed25519.Sign(_identity.Key, _bareInput, _bareSignature);

    [BenchmarkCategory("Sign"), Benchmark]
    public int EncodeAndSign()
    {
        _output.ResetWrittenCount();
        _signer.Encode(_output, Fixtures.TelemetryTopic, _envelope);
        return _output.WrittenCount;
    }

    [BenchmarkCategory("Verify"), Benchmark(Baseline = true)]
    public bool NSecVerify() => SignatureAlgorithm.Ed25519.Verify(_identity.PublicKey, _bareInput, _bareSignature);

    /// <summary>What the engine's own subscriber pays for a message the gateway already verified: the mark (HMAC-SHA256 of topic + payload) and the decode.</summary>
    [BenchmarkCategory("Verify"), Benchmark]
    public double MarkedDecode()
    {
        Verdict verdict = _verifier.VerifyUnlessMarked(Fixtures.TelemetryTopic, _signedMessage, json: false, _markValue, out Envelope<SensorTelemetry> envelope, out bool marked);
        return verdict.Accepted && marked ? envelope.Data.Value : throw new InvalidOperationException(verdict.ToString());
    }

    [BenchmarkCategory("Verify"), Benchmark]
    public double VerifyAndDecode()
    {
        Verdict verdict = _verifier.Verify(Fixtures.TelemetryTopic, _signedMessage, out Envelope<SensorTelemetry> envelope);
        return verdict.Accepted ? envelope.Data.Value : throw new InvalidOperationException(verdict.ToString());
    }
}
