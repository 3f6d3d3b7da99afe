using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Security;
using Alicia.Voice;
using Alicia.Voice.Audio;
using Alicia.Voice.Stt;

namespace Alicia.Voice.Tests;

/// <summary>
/// A real engine (embedded broker over TCP) with the voice service on the micro random-weight Whisper
/// model, and signed bus clients for it: what the end-to-end transport tests stand on.
/// </summary>
internal sealed class VoiceEngineHarness : IAsyncDisposable
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private readonly string _keys;

    private VoiceEngineHarness(string keys, AliciaEngine engine, VoiceService voice)
    {
        _keys = keys;
        Engine = engine;
        Voice = voice;
    }

    public AliciaEngine Engine { get; }
    public VoiceService Voice { get; }

    public static async Task<VoiceEngineHarness> StartAsync(Func<VoiceOptions, VoiceOptions>? adjust = null)
    {
        string keys = Path.Combine(Path.GetTempPath(), "alicia-voice-keys-" + Guid.NewGuid().ToString("N"));
        var engine = new AliciaEngine(new AliciaEngineOptions { KeyDirectory = keys, Broker = new EmbeddedBrokerOptions { Port = 0 } });
        var options = new VoiceOptions
        {
            VadModelPath = TestAudio.VadModelPath,
            WhisperModelPath = TestAudio.MicroModel,
            Quality = new QualityOptions { MinConfidence = 0, MaxNoSpeechProbability = 1 }, // random weights: let everything through
            MqttIdleTimeout = TimeSpan.FromSeconds(30),
        };
        var voice = new VoiceService(adjust is null ? options : adjust(options));
        engine.AddService(voice);
        await engine.StartAsync();
        return new VoiceEngineHarness(keys, engine, voice);
    }

    public async Task<AliciaBus> ClientAsync(string name)
    {
        SigningIdentity identity = Engine.Keys.Create(name + "-" + Guid.NewGuid().ToString("N")[..6]);
        return await AliciaBus.ConnectAsync(Engine.ClientEndpoint!, identity, new EnvelopeVerifier(new TrustStore(Engine.Keys), metrics: new BusMetrics()));
    }

    /// <summary>A 16 kHz mono command with silence around it: one utterance.</summary>
    public static WavFile Command() => WavFile.Parse(WavFile.Build(
        TestAudio.ToPcm(TestAudio.Concat(TestAudio.Silence(0.5), TestAudio.Speech("turn on the kitchen light").ToMono16k(), TestAudio.Silence(0.6))), 16000));

    public async ValueTask DisposeAsync()
    {
        await Engine.DisposeAsync();
        Directory.Delete(_keys, recursive: true);
    }
}
