using System.Text.Json;

namespace Alicia.Voice.Speech.Piper;

/// <summary>
/// A Piper voice's <c>.onnx.json</c>: sample rate, espeak-ng voice, phoneme id map, speakers and inference defaults.
/// Read with <see cref="JsonDocument"/> (no reflection: the host is Native AOT).
/// </summary>
internal sealed class PiperVoiceConfig
{
    public int SampleRate { get; init; } = 22050;
    public string EspeakVoice { get; init; } = "en-us";
    public int NumSpeakers { get; init; } = 1;
    public IReadOnlyDictionary<string, int> SpeakerIds { get; init; } = new Dictionary<string, int>();
    public required IReadOnlyDictionary<string, long[]> PhonemeIds { get; init; }
    public float NoiseScale { get; init; } = 0.667f;
    public float LengthScale { get; init; } = 1.0f;
    public float NoiseW { get; init; } = 0.8f;

    public static PiperVoiceConfig Load(string path) => Parse(File.ReadAllBytes(path), path);

    public static PiperVoiceConfig Parse(ReadOnlySpan<byte> json, string name = "voice config")
    {
        using JsonDocument doc = JsonDocument.Parse(json.ToArray());
        JsonElement root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{name}: not a JSON object");
        if (!root.TryGetProperty("phoneme_id_map", out JsonElement map) || map.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{name}: no phoneme_id_map");
        var ids = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (JsonProperty p in map.EnumerateObject())
            ids[p.Name] = [.. p.Value.EnumerateArray().Select(v => v.GetInt64())];
        foreach (string required in new[] { "^", "_", "$" })
            if (!ids.ContainsKey(required)) throw new InvalidDataException($"{name}: phoneme_id_map lacks '{required}'");

        var speakers = new Dictionary<string, int>(StringComparer.Ordinal);
        if (root.TryGetProperty("speaker_id_map", out JsonElement sp) && sp.ValueKind == JsonValueKind.Object)
            foreach (JsonProperty p in sp.EnumerateObject()) speakers[p.Name] = p.Value.GetInt32();

        JsonElement inference = root.TryGetProperty("inference", out JsonElement inf) && inf.ValueKind == JsonValueKind.Object ? inf : default;
        return new PiperVoiceConfig
        {
            SampleRate = root.TryGetProperty("audio", out JsonElement audio) && audio.TryGetProperty("sample_rate", out JsonElement rate) ? rate.GetInt32() : 22050,
            EspeakVoice = root.TryGetProperty("espeak", out JsonElement espeak) && espeak.TryGetProperty("voice", out JsonElement v) ? v.GetString() ?? "en-us" : "en-us",
            NumSpeakers = root.TryGetProperty("num_speakers", out JsonElement n) ? n.GetInt32() : 1,
            SpeakerIds = speakers,
            PhonemeIds = ids,
            NoiseScale = Float(inference, "noise_scale", 0.667f),
            LengthScale = Float(inference, "length_scale", 1.0f),
            NoiseW = Float(inference, "noise_w", 0.8f),
        };

        static float Float(JsonElement e, string key, float fallback) =>
            e.ValueKind == JsonValueKind.Object && e.TryGetProperty(key, out JsonElement x) ? x.GetSingle() : fallback;
    }
}
