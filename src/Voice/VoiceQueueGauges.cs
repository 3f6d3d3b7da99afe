using System.Diagnostics.Metrics;

namespace Alicia.Voice;

/// <summary>
/// The voice queues as observable gauges on the engine's meter (<c>Alicia.Bus</c>, exported on <c>/metrics</c>): utterances
/// waiting for speech to text (all pools) and reply pieces waiting for synthesis. Read only when someone collects.
/// </summary>
internal static class VoiceQueueGauges
{
    public const string SpeechToTextQueue = "alicia.voice.stt.queue";
    public const string SynthesisQueue = "alicia.voice.synthesis.queue";

    public static void Register(Meter meter, Func<int> speechToTextQueued, Func<int> synthesisQueued)
    {
        meter.CreateObservableGauge(SpeechToTextQueue, speechToTextQueued, "{utterance}", "Utterances waiting for speech to text");
        meter.CreateObservableGauge(SynthesisQueue, synthesisQueued, "{piece}", "Reply pieces waiting to be synthesised");
    }
}
