using System.Security.Cryptography.X509Certificates;
using Alicia.Engine.Hosting;
using Alicia.Voice.Stt;
using Alicia.Voice.Vad;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Alicia.Voice;

/// <summary><c>AddAlicia().AddVoice(v => ...)</c>: the listening half of the voice pipeline.</summary>
public static class VoiceBuilderExtensions
{
    /// <summary>
    /// Audio sessions, Silero VAD and Whisper (<see cref="VoiceSettings"/>, validated at start). Speech-to-text
    /// engines of the host's own registered as <see cref="ISpeechToText"/> come first. Without the VAD model
    /// the engine still starts, with voice off and a warning.
    /// </summary>
    public static IAliciaBuilder AddVoice(this IAliciaBuilder builder, Action<VoiceSettings>? configure = null)
    {
        OptionsBuilder<VoiceSettings> options = builder.Services.AddOptions<VoiceSettings>();
        if (configure is not null) options.Configure(configure);
        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<VoiceSettings>, VoiceSettingsValidator>());
        // Wake-word arbitration runs beside the sessions: it picks which satellite of a room opens one.
        builder.AddService(sp => new Arbitration.WakeWordArbiter(TimeSpan.FromMilliseconds(sp.GetRequiredService<IOptions<VoiceSettings>>().Value.WakeArbitrationWindowMs)));
        return builder.AddService(sp => new VoiceService(sp.GetRequiredService<IOptions<VoiceSettings>>().Value.ToVoiceOptions(), [.. sp.GetServices<ISpeechToText>()]));
    }

    /// <summary>The service's options from the configuration section.</summary>
    internal static VoiceOptions ToVoiceOptions(this VoiceSettings voice) => new()
    {
        Enabled = voice.Enabled,
        OffWithoutVadModel = true,
        VadModelPath = string.IsNullOrWhiteSpace(voice.VadModelPath) ? SileroVadModel.FindDefault() : voice.VadModelPath,
        WhisperModelPath = string.IsNullOrWhiteSpace(voice.WhisperModelPath) ? null : voice.WhisperModelPath,
        ExtraWhisperModelPaths = voice.ExtraWhisperModelPaths,
        WhisperConcurrency = voice.WhisperConcurrency > 0 ? voice.WhisperConcurrency : null,
        WhisperThreads = voice.WhisperThreads > 0 ? voice.WhisperThreads : null,
        Endpointing = new EndpointerOptions
        {
            Hangover = TimeSpan.FromMilliseconds(voice.HangoverMs),
            SpeculateAfter = voice.SpeculateAfterMs < 0 ? null : TimeSpan.FromMilliseconds(voice.SpeculateAfterMs),
        },
        Quality = new QualityOptions { MinConfidence = voice.MinTranscriptConfidence },
        ListenAddress = voice.ListenAddress,
        AudioPort = voice.AudioPort,
        AdvertisedHost = string.IsNullOrWhiteSpace(voice.AdvertisedHost) ? null : voice.AdvertisedHost,
        RequireTls = voice.RequireTls,
        // Its own certificate when configured (an external broker lends none); else the embedded broker's, taken at start.
        TlsCertificate = voice.TlsCertificatePath.Length > 0 ? X509Certificate2.CreateFromPemFile(voice.TlsCertificatePath, voice.TlsKeyPath) : null,
        Speech = new Speech.SpeechOptions
        {
            Enabled = voice.SpeechEnabled,
            PiperModelPath = string.IsNullOrWhiteSpace(voice.PiperVoicePath) ? null : voice.PiperVoicePath,
            EspeakVoice = voice.EspeakVoice,
            ChunkLength = TimeSpan.FromMilliseconds(voice.ReplyChunkMs),
            ReplyLead = TimeSpan.FromMilliseconds(voice.ReplyLeadMs),
            ReplyWait = TimeSpan.FromMilliseconds(voice.ReplyWaitMs),
            PhraseCacheEntries = voice.PhraseCacheEntries,
            SonosSpeakers = [.. voice.SonosSpeakers.Select(VoiceSettings.ParseSpeaker).Where(s => s.Address is not null).Select(s => (s.Room, s.Address!))],
            ClipListenAddress = voice.SpeakerClipAddress,
            ClipAdvertisedHost = string.IsNullOrWhiteSpace(voice.SpeakerClipAdvertisedHost) ? null : voice.SpeakerClipAdvertisedHost,
            AnnounceVolume = voice.AnnounceVolume,
            DuckVolume = voice.DuckVolume,
        },
    };
}
