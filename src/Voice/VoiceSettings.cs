using System.ComponentModel.DataAnnotations;

namespace Alicia.Voice;

/// <summary>The voice pipeline's configuration section (<c>Voice</c>): <c>AddVoice(v => ...)</c>, or bound from configuration by the host.</summary>
public sealed class VoiceSettings
{
    /// <summary>Run the listening half (audio sessions, VAD, STT) when its VAD model is present.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Silero VAD v5 (ONNX); empty: <c>models/cache/silero_vad_v5.onnx</c> up from the working directory.</summary>
    public string VadModelPath { get; set; } = "";

    /// <summary>A Whisper ggml model (<c>alicia models pull whisper-tiny.en</c>); empty: no in-process STT.</summary>
    public string WhisperModelPath { get; set; } = "";

    /// <summary>More Whisper models after the default, in preference order (e.g. a multilingual one); sessions pick by language and latency budget.</summary>
    public string[] ExtraWhisperModelPaths { get; set; } = [];

    /// <summary>Transcriptions at once per Whisper model; 0: the default (2 on 2+ cores).</summary>
    [Range(0, 16)]
    public int WhisperConcurrency { get; set; }

    /// <summary>whisper.cpp threads per transcription; 0: the cores shared over the concurrency.</summary>
    [Range(0, 64)]
    public int WhisperThreads { get; set; }

    /// <summary>Silence that ends an utterance (VAD hangover), in ms.</summary>
    // It must cover the speech padding on both sides (2 x 30 ms); beyond 2 s a command feels dead.
    [Range(60, 2000)]
    public int HangoverMs { get; set; } = 300;

    /// <summary>
    /// Transcripts whose mean token probability is below this are rejected as unreliable (0 accepts every non-empty one,
    /// e.g. to run the whole loop on a random-weight test model).
    /// </summary>
    [Range(0.0, 1.0)]
    public double MinTranscriptConfidence { get; set; } = 0.4;

    /// <summary>Silence after which speech to text starts speculatively, inside the hangover, in ms; -1 turns speculation off.</summary>
    public int SpeculateAfterMs { get; set; }

    /// <summary>Where satellites stream audio; loopback unless told otherwise. Port 0 picks a free one.</summary>
    public string ListenAddress { get; set; } = "127.0.0.1";

    [Range(0, 65535)]
    public int AudioPort { get; set; }

    /// <summary>Host name put in session endpoints; empty: the listen address. With TLS it must be a name in the broker's certificate (<c>alicia ca init --host</c>).</summary>
    public string AdvertisedHost { get; set; } = "";

    /// <summary>
    /// A certificate (PEM) for the audio port's TLS when the embedded broker has none to lend, e.g. with an
    /// external broker; with <see cref="TlsKeyPath"/>. Empty: the embedded broker's certificate, if any.
    /// </summary>
    public string TlsCertificatePath { get; set; } = "";

    /// <summary>The private key (PEM) of <see cref="TlsCertificatePath"/>.</summary>
    public string TlsKeyPath { get; set; } = "";

    /// <summary>
    /// The audio port has TLS whenever the broker does (same certificate). Empty (default) or true: TLS
    /// required; false: plaintext also from loopback. True without the broker's TLS is an error.
    /// </summary>
    public bool? RequireTls { get; set; }

    /// <summary>Speak replies: on the satellite that asked (its own audio connection) or the speakers of its room.</summary>
    public bool SpeechEnabled { get; set; } = true;

    /// <summary>A Piper voice (<c>.onnx</c>, its <c>.onnx.json</c> beside it; <c>alicia models pull</c>); empty: espeak-ng, which needs no model.</summary>
    public string PiperVoicePath { get; set; } = "";

    /// <summary>espeak-ng's voice (its own synthesis, and the fallback when the Piper voice fails).</summary>
    public string EspeakVoice { get; set; } = "en-us";

    /// <summary>Reply audio goes out in chunks of this length, in ms: "stop" is heard within one.</summary>
    [Range(20, 1000)]
    public int ReplyChunkMs { get; set; } = 100;

    /// <summary>How far ahead of real time reply audio is sent, in ms (the satellite's jitter buffer).</summary>
    [Range(0, 5000)]
    public int ReplyLeadMs { get; set; } = 200;

    /// <summary>How long a satellite's connection stays open after its last utterance for the reply to start, in ms.</summary>
    [Range(0, 600000)]
    public int ReplyWaitMs { get; set; } = 10000;

    /// <summary>Fixed phrases ("Done.") whose audio is kept per voice and settings.</summary>
    [Range(0, 4096)]
    public int PhraseCacheEntries { get; set; } = 64;

    /// <summary>Sonos players as <c>room=address</c> (e.g. <c>kitchen=192.168.1.20</c>, port 1400 unless given): replies without a satellite connection, and announcements, play there.</summary>
    public string[] SonosSpeakers { get; set; } = [];

    /// <summary>Where the engine serves reply audio to URL-playing speakers: an address of this machine the speakers reach.</summary>
    public string SpeakerClipAddress { get; set; } = "127.0.0.1";

    /// <summary>Host name put in the clip URLs speakers fetch; empty: <see cref="SpeakerClipAddress"/>.</summary>
    public string SpeakerClipAdvertisedHost { get; set; } = "";

    /// <summary>Media speakers of a room play at most this volume (0-100) while a voice session there listens, then get theirs back; 100: no ducking.</summary>
    [Range(0, 100)]
    public int DuckVolume { get; set; } = 10;

    /// <summary>How long the wake-word arbiter waits after a room's first detection for other satellites' before it picks one, in ms.</summary>
    [Range(10, 2000)]
    public int WakeArbitrationWindowMs { get; set; } = 100;

    /// <summary>Speaker volume (1-100) for replies and announcements, restored afterwards; 0 keeps each speaker's own.</summary>
    [Range(0, 100)]
    public int AnnounceVolume { get; set; }

    /// <summary>Parses <see cref="SonosSpeakers"/>: (room, base address) or the entry's problem.</summary>
    internal static (string Room, Uri? Address, string? Error) ParseSpeaker(string entry)
    {
        int eq = entry.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0 || eq == entry.Length - 1) return ("", null, $"'{entry}' is not room=address");
        string room = entry[..eq].Trim(), address = entry[(eq + 1)..].Trim();
        string authority = address.Contains(':', StringComparison.Ordinal) && !address.StartsWith('[') && address.Count(c => c == ':') == 1 ? address : address + ":1400";
        return Uri.TryCreate("http://" + authority + "/", UriKind.Absolute, out Uri? uri) && room.Length > 0 ? (room, uri, null) : (room, null, $"'{entry}': '{address}' is not a host or host:port");
    }
}
