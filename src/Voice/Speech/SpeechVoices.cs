using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Alicia.Voice.Speech;

/// <summary>One piece of speech: its format and PCM.</summary>
internal readonly record struct SpeechAudio(SpeechFormat Format, ReadOnlyMemory<byte> Pcm);

/// <summary>
/// The voices in preference order (a Piper voice, then espeak-ng) and the phrase cache: a voice that fails before
/// saying anything hands the text to the next, so a missing or broken model still gives a spoken reply.
/// </summary>
internal sealed class SpeechVoices(IReadOnlyList<ISpeechSynthesizer> voices, PhraseCache cache, ILogger logger)
{
    public IReadOnlyList<ISpeechSynthesizer> Voices => voices;
    public PhraseCache Cache => cache;

    public async IAsyncEnumerable<SpeechAudio> SpeakAsync(string text, bool fixedPhrase, SpeechSettings settings, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(text)) yield break;
        foreach (ISpeechSynthesizer voice in voices)
        {
            if (fixedPhrase && cache.TryGet(voice.Name, text, settings, out CachedPhrase cached))
            {
                yield return new SpeechAudio(cached.Format, cached.Pcm);
                yield break;
            }
            await using IAsyncEnumerator<ReadOnlyMemory<byte>> chunks = voice.SynthesizeAsync(text, settings, cancellationToken).GetAsyncEnumerator(cancellationToken);
            var whole = fixedPhrase ? new MemoryStream() : null;
            bool any = false;
            while (true)
            {
                ReadOnlyMemory<byte> chunk;
                try
                {
                    if (!await chunks.MoveNextAsync().ConfigureAwait(false)) break;
                    chunk = chunks.Current;
                }
                catch (Exception e) when (e is not OperationCanceledException && e is not OutOfMemoryException)
                {
                    logger.LogWarning("Speech: voice {Voice} failed on \"{Text}\": {Reason}{Next}", voice.Name, text, e.Message, any ? "" : "; the next voice speaks it");
                    if (any) yield break;
                    whole = null;
                    goto nextVoice;
                }
                any = true;
                whole?.Write(chunk.Span);
                yield return new SpeechAudio(voice.Format, chunk);
            }
            if (whole is not null && any) cache.Add(voice.Name, text, settings, new CachedPhrase(voice.Format, whole.ToArray()));
            if (any) yield break;
        nextVoice:;
        }
        throw new SpeechUnavailableException($"no voice could say \"{text}\" (tried {string.Join(", ", voices.Select(v => v.Name))})");
    }
}

/// <summary>Every voice failed (or none is configured).</summary>
internal sealed class SpeechUnavailableException(string message) : Exception(message);
