using Alicia.Tools.Voice;
using Alicia.Voice.Audio;

namespace Alicia.Voice.Tests.Speech;

/// <summary>What the tests measure in a received reply: its speech, by Silero VAD.</summary>
internal static class ReplyAudio
{
    /// <summary>Seconds of speech Silero VAD finds in the reply (resampled to 16 kHz, with silence around it).</summary>
    public static double SpeechSeconds(SpokenReply reply)
    {
        float[] mono16k = WavFile.Parse(WavFile.Build(reply.Pcm.ToArray(), reply.SampleRate, reply.Channels)).ToMono16k();
        return TestAudio.Segments(TestAudio.Concat(TestAudio.Silence(0.3), mono16k, TestAudio.Silence(0.5))).Sum(s => s.End - s.Start);
    }
}
