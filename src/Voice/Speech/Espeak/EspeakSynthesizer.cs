using System.Buffers;
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

    /// <summary>
    /// One sentence's PCM (what each step of <see cref="SynthesizeAsync"/> hands on). The samples gather in a pooled
    /// buffer kept by the thread between sentences: per sentence only the returned array is allocated.
    /// </summary>
    internal byte[] Speak(string sentence, int rate, CancellationToken ct)
    {
        PcmCollector collector = PcmCollector.Take(ct);
        try
        {
            EspeakLibrary.Synthesize(sentence, voice, rate, pitch, collector.Sink);
            ct.ThrowIfCancellationRequested();
            return collector.ToPcm();
        }
        finally
        {
            collector.Release();
        }
    }

    /// <summary>espeak-ng's buffers gathered into one pooled array; one per thread, its sink delegate made once.</summary>
    private sealed class PcmCollector
    {
        [ThreadStatic]
        private static PcmCollector? t_collector;

        private short[] _samples = [];
        private int _count;
        private CancellationToken _ct;

        private PcmCollector() => Sink = Add;

        public Func<ReadOnlySpan<short>, bool> Sink { get; }

        public static PcmCollector Take(CancellationToken ct)
        {
            PcmCollector collector = t_collector ?? new PcmCollector();
            t_collector = null; // taken: a nested synthesis on this thread gets its own
            collector._ct = ct;
            collector._samples = ArrayPool<short>.Shared.Rent(EspeakLibrary.SampleRate * 2);
            return collector;
        }

        private bool Add(ReadOnlySpan<short> samples)
        {
            if (_count + samples.Length > _samples.Length)
            {
                short[] larger = ArrayPool<short>.Shared.Rent(Math.Max(_samples.Length * 2, _count + samples.Length));
                _samples.AsSpan(0, _count).CopyTo(larger);
                ArrayPool<short>.Shared.Return(_samples);
                _samples = larger;
            }
            samples.CopyTo(_samples.AsSpan(_count));
            _count += samples.Length;
            return !_ct.IsCancellationRequested;
        }

        public byte[] ToPcm() => MemoryMarshal.AsBytes(_samples.AsSpan(0, _count)).ToArray();

        public void Release()
        {
            ArrayPool<short>.Shared.Return(_samples);
            _samples = [];
            _count = 0;
            _ct = default;
            t_collector = this;
        }
    }
}
