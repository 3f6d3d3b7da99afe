using System.Buffers;
using Alicia.Voice.Audio;
using Alicia.Voice.Transport;

namespace Alicia.Voice.Tests;

public sealed class AudioEdgeTests
{
    private static float[] Convert(byte[] pcm, int rate, int channels, int chunk)
    {
        var converter = new PcmConverter(rate, channels);
        var output = new List<float>();
        var buffer = new float[converter.MaxOutputSamples(chunk)];
        for (int i = 0; i < pcm.Length; i += chunk)
        {
            int n = converter.Convert(pcm.AsSpan(i, Math.Min(chunk, pcm.Length - i)), buffer);
            output.AddRange(buffer.AsSpan(0, n).ToArray());
        }
        return [.. output];
    }

    private static int ZeroCrossings(float[] s) => Enumerable.Range(1, s.Length - 1).Count(i => (s[i - 1] < 0) != (s[i] < 0));

    [Theory]
    [InlineData(48000)]
    [InlineData(44100)]
    [InlineData(22050)]
    [InlineData(8000)]
    public void Resampling_keeps_duration_and_pitch(int rate)
    {
        byte[] pcm = PcmConverter.FloatToS16(TestAudio.Tone(1.0, 440, 0.5f, rate));
        float[] output = Convert(pcm, rate, 1, 777); // odd chunks: boundaries inside samples
        Assert.InRange(output.Length, 15990, 16010);
        Assert.InRange(ZeroCrossings(output), 876, 884); // 440 Hz: 880 crossings per second
    }

    [Fact]
    public void Stereo_is_mixed_to_mono_across_chunk_boundaries()
    {
        // Left 0.5, right -0.25 -> mono 0.125, split at every possible offset.
        byte[] frame = [.. PcmConverter.FloatToS16([0.5f, -0.25f])];
        byte[] pcm = Enumerable.Repeat(frame, 100).SelectMany(f => f).ToArray();
        float[] output = Convert(pcm, 16000, 2, 3);
        Assert.Equal(100, output.Length);
        Assert.All(output, s => Assert.Equal(0.125f, s, 3));
    }

    [Fact]
    public void Unsupported_formats_are_refused_clearly()
    {
        Assert.Contains("sample rate", Assert.Throws<ArgumentOutOfRangeException>(() => new PcmConverter(1000, 1)).Message);
        Assert.Contains("channels", Assert.Throws<ArgumentOutOfRangeException>(() => new PcmConverter(16000, 6)).Message);
    }

    [Fact]
    public void Frames_decode_across_segment_boundaries_and_wait_for_more()
    {
        byte[] a = AudioFrameCodec.Encode(AudioFrameType.Audio, [1, 2, 3, 4]);
        byte[] b = AudioFrameCodec.Encode(AudioFrameType.End, []);
        byte[] all = [.. a, .. b];
        for (int split = 1; split < all.Length; split++)
        {
            ReadOnlySequence<byte> seq = Segments.Of(all[..split], all[split..]);
            Assert.Equal(AudioFrameCodec.DecodeStatus.Frame, AudioFrameCodec.TryDecode(seq, 1024, out AudioFrameType t, out ReadOnlySequence<byte> payload, out SequencePosition next, out _));
            Assert.Equal(AudioFrameType.Audio, t);
            Assert.Equal(new byte[] { 1, 2, 3, 4 }, payload.ToArray());
            seq = seq.Slice(next);
            Assert.Equal(AudioFrameCodec.DecodeStatus.Frame, AudioFrameCodec.TryDecode(seq, 1024, out t, out _, out _, out _));
            Assert.Equal(AudioFrameType.End, t);
        }
        Assert.Equal(AudioFrameCodec.DecodeStatus.NeedMore, AudioFrameCodec.TryDecode(new ReadOnlySequence<byte>(a[..6]), 1024, out _, out _, out _, out _));
    }

    [Theory]
    [InlineData(new byte[] { 0x7f, 0, 0, 0, 0 }, "unknown frame type 0x7f")]
    [InlineData(new byte[] { 0x02, 0, 0, 1, 0 }, "exceeds")]
    [InlineData(new byte[] { 0x03, 1, 0, 0, 0 }, "end frame with a payload")]
    public void Malformed_headers_are_named_without_waiting_for_a_payload(byte[] header, string reason)
    {
        Assert.Equal(AudioFrameCodec.DecodeStatus.Malformed, AudioFrameCodec.TryDecode(new ReadOnlySequence<byte>(header), 4096, out _, out _, out _, out string? error));
        Assert.Contains(reason, error);
    }

    [Fact]
    public void Wav_files_round_trip_and_bad_ones_are_named()
    {
        byte[] pcm = PcmConverter.FloatToS16(TestAudio.Tone(0.1, 300));
        WavFile wav = WavFile.Parse(WavFile.Build(pcm, 22050, 1));
        Assert.Equal(22050, wav.SampleRate);
        Assert.Equal(pcm, wav.Pcm);
        Assert.Contains("not a RIFF/WAVE", Assert.Throws<InvalidDataException>(() => WavFile.Parse(new byte[40])).Message);
    }

    private sealed class Segments : ReadOnlySequenceSegment<byte>
    {
        private Segments(byte[] data, long index) { Memory = data; RunningIndex = index; }

        public static ReadOnlySequence<byte> Of(byte[] first, byte[] second)
        {
            var a = new Segments(first, 0);
            var b = new Segments(second, first.Length);
            a.Next = b;
            return new ReadOnlySequence<byte>(a, 0, b, second.Length);
        }
    }
}
