using System.Buffers.Binary;

namespace Alicia.Voice.Speech.Output;

/// <summary>Linear resampling of mono s16le: only when a fallback voice speaks at another rate mid-reply.</summary>
internal static class PcmResampler
{
    public static byte[] Resample(ReadOnlySpan<byte> pcm, SpeechFormat from, SpeechFormat to)
    {
        int inSamples = pcm.Length / 2;
        if (inSamples == 0 || from.SampleRate == to.SampleRate) return pcm.ToArray();
        int outSamples = (int)((long)inSamples * to.SampleRate / from.SampleRate);
        var output = new byte[outSamples * 2];
        double step = from.SampleRate / (double)to.SampleRate;
        for (int i = 0; i < outSamples; i++)
        {
            double x = i * step;
            int j = (int)x;
            double f = x - j;
            short a = BinaryPrimitives.ReadInt16LittleEndian(pcm[(2 * j)..]);
            short b = j + 1 < inSamples ? BinaryPrimitives.ReadInt16LittleEndian(pcm[(2 * j + 2)..]) : a;
            BinaryPrimitives.WriteInt16LittleEndian(output.AsSpan(2 * i), (short)Math.Round(a + (b - a) * f));
        }
        return output;
    }
}
