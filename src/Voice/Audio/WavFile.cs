using System.Buffers.Binary;
using System.Text;

namespace Alicia.Voice.Audio;

/// <summary>A RIFF/WAVE file of 16-bit PCM (the format satellites and espeak-ng write).</summary>
internal sealed class WavFile
{
    public required int SampleRate { get; init; }
    public required int Channels { get; init; }

    /// <summary>Interleaved s16le samples, as in the file.</summary>
    public required byte[] Pcm { get; init; }

    public double DurationSeconds => Pcm.Length / (2.0 * Channels * SampleRate);

    public static WavFile Read(string path) => Parse(File.ReadAllBytes(path), path);

    public static WavFile Parse(ReadOnlySpan<byte> data, string name = "wav")
    {
        if (data.Length < 12 || !data[..4].SequenceEqual("RIFF"u8) || !data.Slice(8, 4).SequenceEqual("WAVE"u8))
            throw new InvalidDataException($"{name}: not a RIFF/WAVE file");
        int offset = 12;
        int? rate = null, channels = null, bits = null;
        while (offset + 8 <= data.Length)
        {
            ReadOnlySpan<byte> id = data.Slice(offset, 4);
            uint declared = BinaryPrimitives.ReadUInt32LittleEndian(data[(offset + 4)..]);
            int body = offset + 8;
            // Streaming writers (espeak-ng to a pipe, some recorders) leave 0 or 0xFFFFFFFF in the data size.
            int size = declared > (uint)(data.Length - body) ? data.Length - body : (int)declared;
            if (id.SequenceEqual("fmt "u8))
            {
                if (size < 16) throw new InvalidDataException($"{name}: fmt chunk too short");
                ushort format = BinaryPrimitives.ReadUInt16LittleEndian(data[body..]);
                channels = BinaryPrimitives.ReadUInt16LittleEndian(data[(body + 2)..]);
                rate = BinaryPrimitives.ReadInt32LittleEndian(data[(body + 4)..]);
                bits = BinaryPrimitives.ReadUInt16LittleEndian(data[(body + 14)..]);
                if (format is not (1 or 0xFFFE)) throw new InvalidDataException($"{name}: only PCM WAV is supported (format tag {format})");
                if (bits != 16) throw new InvalidDataException($"{name}: only 16-bit PCM is supported ({bits}-bit)");
            }
            else if (id.SequenceEqual("data"u8))
            {
                if (rate is null || channels is null) throw new InvalidDataException($"{name}: data chunk before fmt chunk");
                int usable = size / (2 * channels.Value) * (2 * channels.Value);
                return new WavFile { SampleRate = rate.Value, Channels = channels.Value, Pcm = data.Slice(body, usable).ToArray() };
            }
            offset = body + size + (size & 1);
        }
        throw new InvalidDataException($"{name}: no data chunk");
    }

    /// <summary>Writes 16-bit PCM WAV.</summary>
    public static byte[] Build(ReadOnlySpan<byte> pcm, int sampleRate, int channels = 1)
    {
        var output = new byte[44 + pcm.Length];
        Span<byte> h = output;
        Encoding.ASCII.GetBytes("RIFF", h);
        BinaryPrimitives.WriteInt32LittleEndian(h[4..], 36 + pcm.Length);
        Encoding.ASCII.GetBytes("WAVEfmt ", h[8..]);
        BinaryPrimitives.WriteInt32LittleEndian(h[16..], 16);
        BinaryPrimitives.WriteInt16LittleEndian(h[20..], 1);
        BinaryPrimitives.WriteInt16LittleEndian(h[22..], (short)channels);
        BinaryPrimitives.WriteInt32LittleEndian(h[24..], sampleRate);
        BinaryPrimitives.WriteInt32LittleEndian(h[28..], sampleRate * channels * 2);
        BinaryPrimitives.WriteInt16LittleEndian(h[32..], (short)(channels * 2));
        BinaryPrimitives.WriteInt16LittleEndian(h[34..], 16);
        Encoding.ASCII.GetBytes("data", h[36..]);
        BinaryPrimitives.WriteInt32LittleEndian(h[40..], pcm.Length);
        pcm.CopyTo(h[44..]);
        return output;
    }

    /// <summary>The file as 16 kHz mono float samples.</summary>
    public float[] ToMono16k()
    {
        var converter = new PcmConverter(SampleRate, Channels);
        var output = new float[converter.MaxOutputSamples(Pcm.Length)];
        int n = converter.Convert(Pcm, output);
        return output.AsSpan(0, n).ToArray();
    }
}
