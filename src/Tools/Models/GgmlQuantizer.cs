using System.Buffers.Binary;

namespace Alicia.Tools.Models;

/// <summary>How the random Whisper model stores its linear and token-embedding weights.</summary>
internal enum WhisperWeights
{
    /// <summary>Half precision, as ggml-tiny.en.bin (ftype 1).</summary>
    F16,

    /// <summary>ggml's Q8_0 blocks, as ggml-tiny.en-q8_0.bin (ftype 7).</summary>
    Q8_0,

    /// <summary>ggml's Q5_1 blocks, as ggml-tiny.en-q5_1.bin (ftype 9).</summary>
    Q5_1,
}

/// <summary>
/// ggml's block quantization, byte for byte as its reference quantizers (<c>quantize_row_q8_0_ref</c>,
/// <c>quantize_row_q5_1_ref</c>) lay it out: blocks of 32 values along a row, little-endian.
/// Q8_0 = f16 scale d, then 32 x int8 (x ≈ d·q); Q5_1 = f16 d, f16 min m, u32 of the 32 fifth bits,
/// then 16 bytes of low nibbles (value j in the low nibble of byte j, value 16 + j in its high nibble; x ≈ d·q + m).
/// </summary>
internal static class GgmlQuantizer
{
    public const int BlockValues = 32;
    public const int Q8_0BlockBytes = 2 + 32;
    public const int Q5_1BlockBytes = 2 + 2 + 4 + 16;

    /// <summary>ggml_type ids as the tensor records store them.</summary>
    public const int TypeF32 = 0, TypeF16 = 1, TypeQ5_1 = 7, TypeQ8_0 = 8;

    /// <summary>
    /// The header's ftype: ggml_ftype (1 f16, 7 mostly Q8_0, 9 mostly Q5_1) plus GGML_QNT_VERSION (2) x 1000 for
    /// quantized files, as whisper.cpp's quantize tool writes it (the loader takes the version back out).
    /// </summary>
    public static int FileType(WhisperWeights weights) => weights switch
    {
        WhisperWeights.Q8_0 => 2000 + 7,
        WhisperWeights.Q5_1 => 2000 + 9,
        _ => 1,
    };

    public static int TensorType(WhisperWeights weights) => weights switch
    {
        WhisperWeights.Q8_0 => TypeQ8_0,
        WhisperWeights.Q5_1 => TypeQ5_1,
        _ => TypeF16,
    };

    /// <summary>Bytes for <paramref name="values"/> elements of <paramref name="type"/> (a multiple of 32 for the block types).</summary>
    public static long Bytes(int type, long values) => type switch
    {
        TypeF32 => 4 * values,
        TypeF16 => 2 * values,
        TypeQ8_0 => values / BlockValues * Q8_0BlockBytes,
        TypeQ5_1 => values / BlockValues * Q5_1BlockBytes,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a type this writer produces"),
    };

    /// <summary>Encodes <paramref name="values"/> (a multiple of 32 for the block types) as <paramref name="type"/>; returns the bytes written.</summary>
    public static int Encode(int type, ReadOnlySpan<float> values, Span<byte> output)
    {
        switch (type)
        {
            case TypeF32:
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(output[(4 * i)..], values[i]);
                return 4 * values.Length;
            case TypeF16:
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(output[(2 * i)..], (Half)values[i]);
                return 2 * values.Length;
            case TypeQ8_0 or TypeQ5_1:
                if (values.Length % BlockValues != 0) throw new ArgumentException($"{values.Length} values are not whole blocks of {BlockValues}", nameof(values));
                int size = type == TypeQ8_0 ? Q8_0BlockBytes : Q5_1BlockBytes;
                for (int b = 0; b < values.Length / BlockValues; b++)
                {
                    ReadOnlySpan<float> block = values.Slice(b * BlockValues, BlockValues);
                    Span<byte> into = output.Slice(b * size, size);
                    if (type == TypeQ8_0) Q8_0(block, into);
                    else Q5_1(block, into);
                }
                return values.Length / BlockValues * size;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "not a type this writer produces");
        }
    }

    private static void Q8_0(ReadOnlySpan<float> x, Span<byte> y)
    {
        float amax = 0;
        foreach (float v in x) amax = Math.Max(amax, Math.Abs(v));
        float d = amax / 127;
        float id = d != 0 ? 1 / d : 0;
        BinaryPrimitives.WriteHalfLittleEndian(y, (Half)d);
        for (int j = 0; j < BlockValues; j++) y[2 + j] = (byte)(sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero); // C's roundf
    }

    private static void Q5_1(ReadOnlySpan<float> x, Span<byte> y)
    {
        float min = float.MaxValue, max = float.MinValue;
        foreach (float v in x)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        float d = (max - min) / 31;
        float id = d != 0 ? 1 / d : 0;
        BinaryPrimitives.WriteHalfLittleEndian(y, (Half)d);
        BinaryPrimitives.WriteHalfLittleEndian(y[2..], (Half)min);
        uint qh = 0;
        for (int j = 0; j < BlockValues / 2; j++)
        {
            var q0 = (byte)((x[j] - min) * id + 0.5f);
            var q1 = (byte)((x[j + BlockValues / 2] - min) * id + 0.5f);
            y[8 + j] = (byte)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
            qh |= (uint)((q0 & 0x10) >> 4) << j;
            qh |= (uint)((q1 & 0x10) >> 4) << (j + BlockValues / 2);
        }
        BinaryPrimitives.WriteUInt32LittleEndian(y[4..], qh);
    }
}
