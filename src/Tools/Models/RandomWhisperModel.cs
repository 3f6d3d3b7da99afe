using System.Text;

namespace Alicia.Tools.Models;

/// <summary>Whisper hyper-parameters, as the ggml header stores them.</summary>
internal sealed record WhisperDimensions
{
    public int Vocab { get; init; } = 51864;
    public int AudioContext { get; init; } = 1500;
    public int AudioState { get; init; } = 384;
    public int AudioHeads { get; init; } = 6;
    public int AudioLayers { get; init; } = 4;
    public int TextContext { get; init; } = 448;
    public int TextState { get; init; } = 384;
    public int TextHeads { get; init; } = 6;
    public int TextLayers { get; init; } = 4;
    public int Mels { get; init; } = 80;

    /// <summary>The real tiny.en dimensions (39 M parameters, ~75 MB in f16).</summary>
    public static WhisperDimensions TinyEn { get; } = new();

    /// <summary>
    /// A much smaller model that whisper.cpp still loads and runs with the same code paths (English
    /// vocabulary, full 1500 audio and 448 text contexts, 80 mels, and tiny's 4 + 4 layers: whisper.cpp
    /// classifies models by their layer count and aborts on an unknown one), for fast tests: ~8 MB.
    /// </summary>
    public static WhisperDimensions Micro { get; } = new() { AudioState = 64, AudioHeads = 2, TextState = 64, TextHeads = 2 };

    /// <summary>
    /// Zero embeddings for the special and timestamp tokens and ten times larger ones for the ordinary
    /// tokens, so an ordinary token always wins (even over the timestamps' summed probability, which
    /// whisper.cpp compares against) and greedy decoding runs to the token cap: the most a transcription
    /// can cost (random weights otherwise often stop after a token or two, far fewer than a real command's ~10).
    /// </summary>
    public bool Talkative { get; init; }

    /// <summary>How the linear and token-embedding weights are stored (f16, or ggml's Q8_0 / Q5_1 blocks as the published quantized models).</summary>
    public WhisperWeights Weights { get; init; } = WhisperWeights.F16;

    public string Tag => $"r2-v{Vocab}-a{AudioState}x{AudioLayers}h{AudioHeads}-t{TextState}x{TextLayers}h{TextHeads}{(Talkative ? "-talk" : "")}{(Weights == WhisperWeights.F16 ? "" : "-" + Weights.ToString().ToLowerInvariant())}";
}

/// <summary>
/// Writes a random-weight Whisper model in the ggml layout whisper.cpp's <c>whisper_model_load</c> reads:
/// magic, 11 hyper-parameters (ftype 1 = f16, 2007 = Q8_0, 2009 = Q5_1), the mel filter bank, the vocabulary,
/// then every tensor of the architecture (n_dims, name length, type, ne reversed from the torch shape, name, data).
/// Linear and token-embedding weights are f16 or quantized (<see cref="WhisperDimensions.Weights"/>: whisper.cpp's
/// quantize tool converts exactly the 2-D weights); conv weights f16; 1-D tensors, positional embeddings and conv
/// biases f32. Its transcripts are meaningless: it exists so tests and benchmarks exercise the real inference
/// path and cost without downloadable weights. Nothing may claim recognition accuracy from it.
/// </summary>
internal static class RandomWhisperModel
{
    private const uint Magic = 0x67676d6c;
    private const int F32 = GgmlQuantizer.TypeF32, F16 = GgmlQuantizer.TypeF16;

    /// <summary>Writes the model to <paramref name="path"/> (atomically: a temporary file, then a rename).</summary>
    public static void Write(string path, WhisperDimensions d, int seed = 1)
    {
        string temp = path + "." + Environment.ProcessId + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        using (var w = new BinaryWriter(stream))
        {
            var rng = new XorShift((uint)seed * 2654435761u + 1);
            w.Write(Magic);
            foreach (int v in new[] { d.Vocab, d.AudioContext, d.AudioState, d.AudioHeads, d.AudioLayers, d.TextContext, d.TextState, d.TextHeads, d.TextLayers, d.Mels, GgmlQuantizer.FileType(d.Weights) })
                w.Write(v);

            // Mel filters: n_mel x n_fft (201) triangles, so the log-mel input is sane.
            const int nFft = 201;
            w.Write(d.Mels);
            w.Write(nFft);
            for (int m = 0; m < d.Mels; m++)
            {
                double center = (m + 1) * (nFft - 1) / (double)(d.Mels + 1);
                for (int f = 0; f < nFft; f++) w.Write((float)Math.Max(0, 1 - Math.Abs(f - center) / 2.0) * 0.02f);
            }

            // Vocabulary: the 50256 ordinary tokens as short words; whisper.cpp names the special ones itself.
            const int ordinary = 50256;
            w.Write(ordinary);
            Span<byte> word = stackalloc byte[16];
            for (int i = 0; i < ordinary; i++)
            {
                // Token 220 is " " as in GPT-2's vocabulary: whisper.cpp's blank suppression looks it up by text.
                int n = i == 220 ? Encoding.ASCII.GetBytes(" ", word) : Encoding.ASCII.GetBytes(" w" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), word);
                w.Write((uint)n);
                w.Write(word[..n]);
            }

            int a = d.AudioState, t = d.TextState, linear = GgmlQuantizer.TensorType(d.Weights);
            Tensor(w, rng, "encoder.positional_embedding", F32, 0.02f, a, d.AudioContext);
            Tensor(w, rng, "encoder.conv1.weight", F16, 0.05f, 3, d.Mels, a);
            Tensor(w, rng, "encoder.conv1.bias", F32, 0f, 1, a);
            Tensor(w, rng, "encoder.conv2.weight", F16, 0.05f, 3, a, a);
            Tensor(w, rng, "encoder.conv2.bias", F32, 0f, 1, a);
            Tensor(w, rng, "encoder.ln_post.weight", F32, -1f, a);
            Tensor(w, rng, "encoder.ln_post.bias", F32, 0f, a);
            for (int i = 0; i < d.AudioLayers; i++) Block(w, rng, $"encoder.blocks.{i}.", a, linear, cross: false);

            Tensor(w, rng, "decoder.positional_embedding", F32, 0.02f, t, d.TextContext);
            Tensor(w, rng, "decoder.token_embedding.weight", linear, d.Talkative ? 0.5f : 0.05f, [t, d.Vocab], zeroFrom: d.Talkative ? (long)ordinary * t : long.MaxValue);
            Tensor(w, rng, "decoder.ln.weight", F32, -1f, t);
            Tensor(w, rng, "decoder.ln.bias", F32, 0f, t);
            for (int i = 0; i < d.TextLayers; i++) Block(w, rng, $"decoder.blocks.{i}.", t, linear, cross: true);
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>The model for <paramref name="dimensions"/> in <paramref name="directory"/>, written on first use.</summary>
    public static string GetOrCreate(string directory, WhisperDimensions dimensions, int seed = 1)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, $"ggml-random-{dimensions.Tag}-s{seed}.bin");
        if (!File.Exists(path)) Write(path, dimensions, seed);
        return path;
    }

    private static void Block(BinaryWriter w, XorShift rng, string p, int s, int linear, bool cross)
    {
        Tensor(w, rng, p + "mlp_ln.weight", F32, -1f, s);
        Tensor(w, rng, p + "mlp_ln.bias", F32, 0f, s);
        Tensor(w, rng, p + "mlp.0.weight", linear, 0.05f, s, 4 * s);
        Tensor(w, rng, p + "mlp.0.bias", F32, 0f, 4 * s);
        Tensor(w, rng, p + "mlp.2.weight", linear, 0.05f, 4 * s, s);
        Tensor(w, rng, p + "mlp.2.bias", F32, 0f, s);
        Attention(w, rng, p + "attn_ln", p + "attn", s, linear);
        if (cross) Attention(w, rng, p + "cross_attn_ln", p + "cross_attn", s, linear);
    }

    private static void Attention(BinaryWriter w, XorShift rng, string ln, string attn, int s, int linear)
    {
        Tensor(w, rng, ln + ".weight", F32, -1f, s);
        Tensor(w, rng, ln + ".bias", F32, 0f, s);
        Tensor(w, rng, attn + ".query.weight", linear, 0.05f, s, s);
        Tensor(w, rng, attn + ".query.bias", F32, 0f, s);
        Tensor(w, rng, attn + ".key.weight", linear, 0.05f, s, s);
        Tensor(w, rng, attn + ".value.weight", linear, 0.05f, s, s);
        Tensor(w, rng, attn + ".value.bias", F32, 0f, s);
        Tensor(w, rng, attn + ".out.weight", linear, 0.05f, s, s);
        Tensor(w, rng, attn + ".out.bias", F32, 0f, s);
    }

    private static void Tensor(BinaryWriter w, XorShift rng, string name, int type, float scale, params int[] ne) => Tensor(w, rng, name, type, scale, ne, long.MaxValue);

    /// <summary>
    /// One tensor record; <paramref name="scale"/> -1 writes ones (layer-norm gains), 0 zeros, else uniform ±scale;
    /// elements from <paramref name="zeroFrom"/> on are zero.
    /// </summary>
    private static void Tensor(BinaryWriter w, XorShift rng, string name, int type, float scale, int[] ne, long zeroFrom)
    {
        byte[] nameBytes = Encoding.ASCII.GetBytes(name);
        w.Write(ne.Length);
        w.Write(nameBytes.Length);
        w.Write(type);
        foreach (int n in ne) w.Write(n);
        w.Write(nameBytes);
        long count = 1;
        foreach (int n in ne) count *= n;
        // Whole rows of ne[0] (a multiple of 32 in every Whisper size) at a time, so quantized blocks never straddle a chunk.
        int row = ne[0], rows = Math.Max(1, 16384 / row);
        var values = new float[row * rows];
        var bytes = new byte[GgmlQuantizer.Bytes(F32, values.Length)];
        long remaining = count, index = 0;
        while (remaining > 0)
        {
            int n = (int)Math.Min(remaining, values.Length);
            for (int i = 0; i < n; i++, index++)
            {
                float v = scale switch { -1f => 1f, 0f => 0f, _ => rng.NextSigned() * scale };
                values[i] = index >= zeroFrom ? 0f : v;
            }
            w.Write(bytes, 0, GgmlQuantizer.Encode(type, values.AsSpan(0, n), bytes));
            remaining -= n;
        }
    }

    private sealed class XorShift(uint state)
    {
        private uint _state = state == 0 ? 1 : state;

        /// <summary>Uniform in [-1, 1).</summary>
        public float NextSigned()
        {
            uint x = _state;
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            _state = x;
            return (x >> 8) * (2f / (1 << 24)) - 1f;
        }
    }
}
