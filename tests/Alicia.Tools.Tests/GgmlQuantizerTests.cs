using System.Buffers.Binary;
using System.Text;
using Alicia.Tools.Models;

namespace Alicia.Tools.Tests;

/// <summary>
/// The random Whisper model's quantized tensors are ggml's Q8_0 / Q5_1 blocks: decoded here with ggml's own
/// dequantization rules (dequantize_row_q8_0 / _q5_1, written out independently), they give back the values
/// within the format's resolution; and a quantized file has exactly the tensor types whisper.cpp's loader expects.
/// </summary>
public sealed class GgmlQuantizerTests : IDisposable
{
    private readonly TempDirectory _dir = new("alicia-ggml");

    public void Dispose() => _dir.Dispose();

    private static float[] Values(int count, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1) * 0.05f)];
    }

    private static float[] DequantizeQ8_0(ReadOnlySpan<byte> data, int count)
    {
        var x = new float[count];
        for (int b = 0; b < count / 32; b++)
        {
            ReadOnlySpan<byte> block = data.Slice(b * 34, 34);
            float d = (float)BinaryPrimitives.ReadHalfLittleEndian(block);
            for (int j = 0; j < 32; j++) x[b * 32 + j] = (sbyte)block[2 + j] * d;
        }
        return x;
    }

    private static float[] DequantizeQ5_1(ReadOnlySpan<byte> data, int count)
    {
        var x = new float[count];
        for (int b = 0; b < count / 32; b++)
        {
            ReadOnlySpan<byte> block = data.Slice(b * 24, 24);
            float d = (float)BinaryPrimitives.ReadHalfLittleEndian(block), m = (float)BinaryPrimitives.ReadHalfLittleEndian(block[2..]);
            uint qh = BinaryPrimitives.ReadUInt32LittleEndian(block[4..]);
            for (int j = 0; j < 16; j++)
            {
                int high0 = (int)((qh >> j) << 4) & 0x10, high1 = (int)(qh >> (j + 12)) & 0x10;
                x[b * 32 + j] = ((block[8 + j] & 0x0F) | high0) * d + m;
                x[b * 32 + j + 16] = ((block[8 + j] >> 4) | high1) * d + m;
            }
        }
        return x;
    }

    [Fact]
    public void Q8_0_blocks_decode_to_the_values_within_half_a_step()
    {
        float[] values = Values(32 * 12, seed: 3);
        var bytes = new byte[GgmlQuantizer.Bytes(GgmlQuantizer.TypeQ8_0, values.Length)];
        Assert.Equal(12 * 34, GgmlQuantizer.Encode(GgmlQuantizer.TypeQ8_0, values, bytes));
        float[] back = DequantizeQ8_0(bytes, values.Length);
        for (int b = 0; b < 12; b++)
        {
            float step = values.Skip(b * 32).Take(32).Max(Math.Abs) / 127;
            // Half a step, plus the f16 scale's own rounding (2^-11 relative) times up to 127.
            for (int j = 0; j < 32; j++) Assert.InRange(Math.Abs(back[b * 32 + j] - values[b * 32 + j]), 0, step * (0.5f + 127f / 2048));
        }
    }

    [Fact]
    public void Q5_1_blocks_decode_to_the_values_within_half_a_step()
    {
        float[] values = Values(32 * 12, seed: 5);
        var bytes = new byte[GgmlQuantizer.Bytes(GgmlQuantizer.TypeQ5_1, values.Length)];
        Assert.Equal(12 * 24, GgmlQuantizer.Encode(GgmlQuantizer.TypeQ5_1, values, bytes));
        float[] back = DequantizeQ5_1(bytes, values.Length);
        for (int b = 0; b < 12; b++)
        {
            float[] block = [.. values.Skip(b * 32).Take(32)];
            float step = (block.Max() - block.Min()) / 31;
            // Half a step, plus the f16 scale's and minimum's own rounding (2^-11 relative).
            for (int j = 0; j < 32; j++) Assert.InRange(Math.Abs(back[b * 32 + j] - block[j]), 0, step * (0.5f + 31f / 2048) + Math.Abs(block.Min()) / 2048);
        }
    }

    [Fact]
    public void Zeros_stay_exactly_zero_so_the_talkative_models_special_tokens_stay_silent()
    {
        var zeros = new float[64];
        foreach (int type in new[] { GgmlQuantizer.TypeQ8_0, GgmlQuantizer.TypeQ5_1 })
        {
            var bytes = new byte[GgmlQuantizer.Bytes(type, zeros.Length)];
            GgmlQuantizer.Encode(type, zeros, bytes);
            float[] back = type == GgmlQuantizer.TypeQ8_0 ? DequantizeQ8_0(bytes, 64) : DequantizeQ5_1(bytes, 64);
            Assert.All(back, v => Assert.Equal(0f, v));
        }
    }

    [Fact]
    public void Values_that_are_not_whole_blocks_are_refused()
    {
        Assert.Throws<ArgumentException>(() => GgmlQuantizer.Encode(GgmlQuantizer.TypeQ8_0, new float[33], new byte[64]));
    }

    [Theory]
    [InlineData("F16", 1, GgmlQuantizer.TypeF16)]
    [InlineData("Q8_0", 2007, GgmlQuantizer.TypeQ8_0)]
    [InlineData("Q5_1", 2009, GgmlQuantizer.TypeQ5_1)]
    public void A_quantized_model_stores_the_2d_weights_quantized_conv_weights_f16_and_the_rest_f32(string format, int ftype, int linearType)
    {
        WhisperDimensions d = WhisperDimensions.Micro with { Weights = Enum.Parse<WhisperWeights>(format) };
        string path = RandomWhisperModel.GetOrCreate(_dir.Path, d);
        using var reader = new BinaryReader(File.OpenRead(path));
        Assert.Equal(0x67676d6cu, reader.ReadUInt32());
        int[] header = [.. Enumerable.Range(0, 11).Select(_ => reader.ReadInt32())];
        Assert.Equal(ftype, header[10]);
        int mels = reader.ReadInt32(), fft = reader.ReadInt32();
        reader.BaseStream.Seek(4L * mels * fft, SeekOrigin.Current);
        int words = reader.ReadInt32();
        for (int i = 0; i < words; i++) reader.BaseStream.Seek(reader.ReadUInt32(), SeekOrigin.Current);

        var types = new Dictionary<string, int>();
        while (reader.BaseStream.Position < reader.BaseStream.Length)
        {
            int dims = reader.ReadInt32(), nameLength = reader.ReadInt32(), type = reader.ReadInt32();
            int[] ne = [.. Enumerable.Range(0, dims).Select(_ => reader.ReadInt32())];
            string name = Encoding.ASCII.GetString(reader.ReadBytes(nameLength));
            long count = ne.Aggregate(1L, (a, n) => a * n);
            reader.BaseStream.Seek(GgmlQuantizer.Bytes(type, count), SeekOrigin.Current);
            types[name] = type;
            bool conv = name.StartsWith("encoder.conv", StringComparison.Ordinal) && name.EndsWith(".weight", StringComparison.Ordinal);
            bool skipped = name.EndsWith("positional_embedding", StringComparison.Ordinal) || (name.StartsWith("encoder.conv", StringComparison.Ordinal) && name.EndsWith(".bias", StringComparison.Ordinal));
            int expected = conv ? GgmlQuantizer.TypeF16 : dims == 2 && !skipped ? linearType : GgmlQuantizer.TypeF32;
            Assert.True(expected == type, $"{name} ({dims}-D) is type {type}, not {expected}");
        }
        Assert.Equal(reader.BaseStream.Length, reader.BaseStream.Position); // every record's size adds up to the file
        Assert.Equal(linearType, types["decoder.token_embedding.weight"]);
        Assert.Equal(linearType, types["encoder.blocks.0.attn.query.weight"]);
        Assert.Equal(7 + 15 * d.AudioLayers + 4 + 24 * d.TextLayers, types.Count);
    }
}
