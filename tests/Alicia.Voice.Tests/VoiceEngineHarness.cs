using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
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

    private readonly TestEngine _test;

    private VoiceEngineHarness(TestEngine test, VoiceService voice)
    {
        _test = test;
        Voice = voice;
    }

    public AliciaEngine Engine => _test.Engine;
    public VoiceService Voice { get; }

    /// <param name="before">Services added before the voice service (the security gateway ...).</param>
    public static async Task<VoiceEngineHarness> StartAsync(Func<VoiceOptions, VoiceOptions>? adjust = null, Action<AliciaEngine>? before = null)
    {
        var options = new VoiceOptions
        {
            VadModelPath = TestAudio.VadModelPath,
            WhisperModelPath = TestAudio.MicroModel,
            Quality = new QualityOptions { MinConfidence = 0, MaxNoSpeechProbability = 1 }, // random weights: let everything through
            MqttIdleTimeout = TimeSpan.FromSeconds(30),
        };
        var voice = new VoiceService(adjust is null ? options : adjust(options));
        return new VoiceEngineHarness(await TestEngine.StartAsync(services: e => { before?.Invoke(e); e.AddService(voice); }), voice);
    }

    /// <summary>A signed bus client the engine trusts, under a name of its own (so one test may have two of a role).</summary>
    public Task<AliciaBus> ClientAsync(string name) => _test.ClientAsync(name + "-" + Guid.NewGuid().ToString("N")[..6]);

    /// <summary>A bus client under exactly <paramref name="name"/> (its key trusted by the engine), with <paramref name="options"/> (credentials ...).</summary>
    public Task<AliciaBus> ClientAsync(string name, BusOptions options) => _test.ClientAsync(name, options);

    /// <summary>The embedded broker's TCP endpoint.</summary>
    public BrokerEndpoint Endpoint => _test.Endpoint;

    /// <summary>A 16 kHz mono command with silence around it: one utterance.</summary>
    public static WavFile Command() => WavFile.Parse(WavFile.Build(
        TestAudio.ToPcm(TestAudio.Concat(TestAudio.Silence(0.5), TestAudio.Speech("turn on the kitchen light").ToMono16k(), TestAudio.Silence(0.6))), 16000));

    public ValueTask DisposeAsync() => _test.DisposeAsync();
}
