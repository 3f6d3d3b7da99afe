using Alicia.Contracts.Messages;
using Alicia.Voice.Speech;
using Alicia.Voice.Speech.Espeak;
using Alicia.Voice.Speech.Output;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alicia.Voice.Tests.Speech;

/// <summary>Every failure still gives the user a reply through another path; fixed phrases cost a lookup.</summary>
public sealed class SpeechFallbackTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static SpeechVoices Voices(params ISpeechSynthesizer[] voices) => new(voices, new PhraseCache(8), NullLogger.Instance);

    private static ReplyPlayback Play(SpeechVoices voices, IReplyOutput output, Func<ReplyPlayback, IReplyOutput?>? reroute = null, params AiResponse[] pieces)
    {
        var playback = new ReplyPlayback("r1", "s1", "sat", "kitchen", output, voices, new SpeechOptions { ReplyLead = TimeSpan.Zero }, TimeProvider.System, NullLogger.Instance, reroute ?? (_ => null));
        foreach (AiResponse p in pieces) playback.Add(p);
        return playback;
    }

    private static async Task<byte[]> AllAsync(SpeechVoices voices, string text, bool fixedPhrase, SpeechSettings? settings = null)
    {
        var pcm = new MemoryStream();
        await foreach (SpeechAudio a in voices.SpeakAsync(text, fixedPhrase, settings ?? SpeechSettings.Default, CancellationToken.None)) pcm.Write(a.Pcm.Span);
        return pcm.ToArray();
    }

    [Fact]
    public async Task A_broken_voice_hands_the_text_to_espeak()
    {
        var broken = new FailingSynthesizerFake();
        var recording = new RecordingOutput("speaker");
        ReplyPlayback playback = Play(Voices(broken, new EspeakSynthesizer()), recording, pieces: new AiResponse { Text = "The kitchen light is on.", IsFinal = true });

        Assert.Equal(ReplyEndStatus.Spoken, await playback.Completion.WaitAsync(Wait));
        Assert.Equal(1, broken.Calls);
        Assert.Equal(22050, recording.Format!.Value.SampleRate); // espeak-ng's audio, not the broken voice's
        Assert.True(recording.Pcm.Length > 22050, $"{recording.Pcm.Length} bytes"); // over half a second
    }

    [Fact]
    public async Task When_no_voice_can_speak_the_reply_ends_failed_with_its_text()
    {
        var recording = new RecordingOutput("satellite");
        ReplyPlayback playback = Play(Voices(new FailingSynthesizerFake()), recording, pieces:
        [
            new AiResponse { Text = "It is sunny.", Sequence = 0 },
            new AiResponse { Text = "Twenty degrees.", Sequence = 1, IsFinal = true },
        ]);

        Assert.Equal(ReplyEndStatus.Failed, await playback.Completion.WaitAsync(Wait));
        Assert.Equal((ReplyEndStatus.Failed, "It is sunny. Twenty degrees."), await recording.Ended.Task);
        Assert.Equal(0, recording.Pcm.Length);
    }

    [Fact]
    public async Task An_offline_speaker_hands_the_reply_to_another_output_in_the_room()
    {
        var offline = new RecordingOutput("sonos 127.0.0.1 (offline)", offline: true);
        var other = new RecordingOutput("satellite speaker");
        ReplyPlayback playback = Play(Voices(new EspeakSynthesizer()), offline, _ => other, new AiResponse { Text = "Done.", IsFinal = true });

        Assert.Equal(ReplyEndStatus.Spoken, await playback.Completion.WaitAsync(Wait));
        Assert.Equal((ReplyEndStatus.Spoken, "Done."), await other.Ended.Task);
        Assert.True(other.Pcm.Length > 0);
        Assert.Same(other, playback.Output);
    }

    [Fact]
    public async Task A_fixed_phrase_is_synthesised_once_per_voice_and_settings()
    {
        var espeak = new CountingSynthesizer(new EspeakSynthesizer());
        SpeechVoices voices = Voices(espeak);

        byte[] first = await AllAsync(voices, "Done.", fixedPhrase: true);
        byte[] second = await AllAsync(voices, "Done.", fixedPhrase: true);
        byte[] faster = await AllAsync(voices, "Done.", fixedPhrase: true, new SpeechSettings { Speed = 1.5 });
        byte[] free = await AllAsync(voices, "Done.", fixedPhrase: false);

        Assert.Equal(first, second);
        Assert.Equal(1, voices.Cache.Hits);
        Assert.NotEqual(first.Length, faster.Length);
        Assert.Equal(3, espeak.Calls); // first, faster and the free text (not cached) were spoken; second was not
        Assert.InRange(free.Length, first.Length * 0.9, first.Length * 1.1); // espeak-ng varies a few samples; the cache returns the very same audio
    }

    [Fact]
    public void The_phrase_cache_is_bounded_least_recently_used_first()
    {
        var cache = new PhraseCache(2);
        var format = new SpeechFormat(22050);
        cache.Add("v", "a", SpeechSettings.Default, new CachedPhrase(format, [1]));
        cache.Add("v", "b", SpeechSettings.Default, new CachedPhrase(format, [2]));
        Assert.True(cache.TryGet("v", "a", SpeechSettings.Default, out _)); // a is now the most recent
        cache.Add("v", "c", SpeechSettings.Default, new CachedPhrase(format, [3]));

        Assert.Equal(2, cache.Count);
        Assert.False(cache.TryGet("v", "b", SpeechSettings.Default, out _));
        Assert.True(cache.TryGet("v", "a", SpeechSettings.Default, out CachedPhrase a));
        Assert.Equal([1], a.Pcm);
        Assert.False(cache.TryGet("other-voice", "a", SpeechSettings.Default, out _));
    }
}
