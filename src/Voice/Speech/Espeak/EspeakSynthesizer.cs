using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Alicia.Voice.Speech.Espeak;

/// <summary>
/// espeak-ng's own formant synthesizer through libespeak-ng.so.1: robotic, but it needs no model download, so it is
/// what a new install speaks with and the fallback when a Piper voice is missing or fails. Each sentence is spoken on
/// the thread pool (espeak-ng is synchronous and holds the global lock) and handed on as soon as it is done.
/// </summary>
internal sealed class EspeakSynthesizer(string voice = "en-us", int wordsPerMinute = 175, int pitch = 50) : ISpeechSynthesizer
{
    public string Name => "espeak-ng:" + voice;

    public SpeechFormat Format => new(EspeakLibrary.SampleRate);

    public async IAsyncEnumerable<ReadOnlyMemory<byte>> SynthesizeAsync(string text, SpeechSettings settings, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        int rate = (int)Math.Clamp(Math.Round(wordsPerMinute * settings.Speed), 80, 450);
        foreach (string sentence in SentenceSplitter.Split(text))
        {
            byte[] pcm = await Task.Run(() => Speak(sentence, rate, cancellationToken), cancellationToken).ConfigureAwait(false);
            if (pcm.Length > 0) yield return pcm;
        }
    }

    private byte[] Speak(string sentence, int rate, CancellationToken ct)
    {
        var buffer = new List<short>(EspeakLibrary.SampleRate * 2);
        EspeakLibrary.Synthesize(sentence, voice, rate, pitch, samples =>
        {
            foreach (short s in samples) buffer.Add(s);
            return !ct.IsCancellationRequested;
        });
        ct.ThrowIfCancellationRequested();
        return MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(buffer)).ToArray();
    }
}
