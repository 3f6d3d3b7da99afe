using System.Text;
using System.Text.Json;
using Alicia.Tools.Models.Onnx;

namespace Alicia.Tools.Models;

/// <summary>
/// Writes a Piper-shaped voice with random weights: an ONNX graph with exactly a Piper (VITS) export's inputs and output
/// (<c>input</c> int64 [1,T], <c>input_lengths</c> int64 [1], <c>scales</c> float32 [3], and <c>sid</c> int64 [1] when
/// multi-speaker; <c>output</c> float32 [1,1,1,samples] with samples = input_lengths x 256 x length_scale), and its
/// <c>.onnx.json</c> with Piper's phoneme id map. Inside: a random embedding per phoneme id (plus one per speaker)
/// gathered by the ids, flattened to 256 samples per id, squashed by tanh and resized by the length scale. It sounds
/// like noise: it exists so the whole Piper path (phonemes, ids, ONNX Runtime, streaming) runs for real where no voice
/// can be downloaded. Nothing may claim voice quality or a real voice's speed from it.
/// </summary>
internal static class RandomPiperVoice
{
    public const int HopLength = 256;
    public const int SampleRate = 22050;

    /// <summary>Piper's symbols for espeak-ng phonemes (pad, bos, eos, punctuation, Latin letters, IPA, stress, length, combining marks).</summary>
    private const string Symbols = "_^$ !'(),-.:;?abcdefghijklmnopqrstuvwxyzæçðøħŋœǀǁǂǃɐɑɒɓɔɕɖɗɘəɚɛɜɞɟɠɡɢɣɤɥɦɧɨɪɫɬɭɮɯɰɱɲɳɴɵɶɸɹɺɻɽɾʀʁʂʃʄʈʉʊʋʌʍʎʏʐʑʒʔʕʘʙʛʜʝʟʡʢʲˈˌːˑ˞βθχᵻⱱ\u0303\u0327\u0329\u032a\u032f\u0361\u0306\u0325\u0330\u0330\u0334\u0320";

    /// <summary>Writes <c>{path}</c> and <c>{path}.json</c> (each atomically).</summary>
    public static void Write(string path, int speakers = 1, int seed = 1)
    {
        string[] symbols = [.. Symbols.EnumerateRunes().Select(r => r.ToString()).Distinct()];
        var random = new Random(seed);
        float[] Noise(int n, float scale) => [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale)];

        var graph = new OnnxGraph("piper_random_weights")
            .Input("input", OnnxType.Int64, 1, "phonemes")
            .Input("input_lengths", OnnxType.Int64, 1)
            .Input("scales", OnnxType.Float, 3);
        if (speakers > 1) graph.Input("sid", OnnxType.Int64, 1);
        graph.Output("output", OnnxType.Float, 1, 1, 1, "samples")
            .Constant("embedding", Noise(symbols.Length * HopLength, 2f), symbols.Length, HopLength)
            .Constant("frame_shape", new long[] { 1, 1, 1, -1 }, 4)
            .Constant("length_scale_index", new long[] { 1 })
            .Constant("hop", new float[] { HopLength }, 1)
            .Constant("leading_dims", new long[] { 1, 1, 1 }, 3)
            .Node("Gather", ["embedding", "input"], ["phoneme_frames"], ("axis", 0));
        string frames = "phoneme_frames";
        if (speakers > 1)
        {
            graph.Constant("speaker_embedding", Noise(speakers * HopLength, 1f), speakers, HopLength)
                .Node("Gather", ["speaker_embedding", "sid"], ["speaker_frame"], ("axis", 0))
                .Node("Add", ["phoneme_frames", "speaker_frame"], ["voiced_frames"]);
            frames = "voiced_frames";
        }
        graph.Node("Reshape", [frames, "frame_shape"], ["flat"])
            .Node("Tanh", ["flat"], ["wave"])
            .Node("Cast", ["input_lengths"], ["lengths_f"], ("to", (int)OnnxType.Float))
            .Node("Gather", ["scales", "length_scale_index"], ["length_scale"], ("axis", 0))
            .Node("Mul", ["lengths_f", "hop"], ["unscaled"])
            .Node("Mul", ["unscaled", "length_scale"], ["scaled"])
            .Node("Floor", ["scaled"], ["samples_f"])
            .Node("Cast", ["samples_f"], ["samples"], ("to", (int)OnnxType.Int64))
            .Node("Concat", ["leading_dims", "samples"], ["sizes"], ("axis", 0))
            .Node("Resize", ["wave", "", "", "sizes"], ["output"], ("mode", "nearest"));
        WriteAtomically(path, graph.ToModel());
        WriteAtomically(path + ".json", Config(symbols, speakers));
    }

    /// <summary>The voice in <paramref name="directory"/>, written once per machine.</summary>
    public static string GetOrCreate(string directory, int speakers = 1, int seed = 1)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, $"piper-random-v1-{speakers}spk-s{seed}.onnx");
        if (!File.Exists(path) || !File.Exists(path + ".json")) Write(path, speakers, seed);
        return path;
    }

    private static byte[] Config(string[] symbols, int speakers)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartObject("audio");
            w.WriteNumber("sample_rate", SampleRate);
            w.WriteString("quality", "random-weights (test only)");
            w.WriteEndObject();
            w.WriteStartObject("espeak");
            w.WriteString("voice", "en-us");
            w.WriteEndObject();
            w.WriteStartObject("inference");
            w.WriteNumber("noise_scale", 0.667);
            w.WriteNumber("length_scale", 1.0);
            w.WriteNumber("noise_w", 0.8);
            w.WriteEndObject();
            w.WriteString("phoneme_type", "espeak");
            w.WriteNumber("num_symbols", symbols.Length);
            w.WriteNumber("num_speakers", speakers);
            w.WriteStartObject("speaker_id_map");
            for (int s = 0; s < speakers && speakers > 1; s++) w.WriteNumber("speaker_" + s, s);
            w.WriteEndObject();
            w.WriteStartObject("phoneme_id_map");
            for (int i = 0; i < symbols.Length; i++)
            {
                w.WriteStartArray(symbols[i]);
                w.WriteNumberValue(i);
                w.WriteEndArray();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    private static void WriteAtomically(string path, byte[] bytes)
    {
        string temp = path + "." + Environment.ProcessId + ".tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, path, overwrite: true);
    }
}
