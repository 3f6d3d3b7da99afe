using System.Net;
using Microsoft.Extensions.Options;

namespace Alicia.Voice;

/// <summary>The <c>[Range]</c> checks of <see cref="VoiceSettings"/>, source-generated (no reflection).</summary>
[OptionsValidator]
internal sealed partial class VoiceSettingsRangeValidator : IValidateOptions<VoiceSettings>;

/// <summary>
/// Checks the <c>Voice</c> section when the host starts: the generated range checks, then the rules that
/// span several keys. Every failure names its key.
/// </summary>
internal sealed class VoiceSettingsValidator : IValidateOptions<VoiceSettings>
{
    public ValidateOptionsResult Validate(string? name, VoiceSettings options)
    {
        List<string> failures = Failures(options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    public static List<string> Failures(VoiceSettings o)
    {
        var f = new List<string>();
        ValidateOptionsResult ranges = new VoiceSettingsRangeValidator().Validate(null, o);
        if (ranges.Failed) f.AddRange(ranges.Failures.Select(m => "Voice:" + m));
        if ((o.TlsCertificatePath.Length > 0) != (o.TlsKeyPath.Length > 0))
            f.Add("Voice:TlsCertificatePath and Voice:TlsKeyPath go together (PEM certificate and its key)");
        foreach ((string key, string path) in new[] { ("Voice:TlsCertificatePath", o.TlsCertificatePath), ("Voice:TlsKeyPath", o.TlsKeyPath) })
            if (path.Length > 0 && !File.Exists(path)) f.Add($"{key}: '{path}' does not exist");
        if (!IPAddress.TryParse(o.ListenAddress, out IPAddress? listen))
            f.Add($"Voice:ListenAddress: '{o.ListenAddress}' is not an IP address");
        else if ((listen.Equals(IPAddress.Any) || listen.Equals(IPAddress.IPv6Any)) && string.IsNullOrWhiteSpace(o.AdvertisedHost))
            f.Add($"Voice:AdvertisedHost: needed when Voice:ListenAddress is {o.ListenAddress} (sessions must name an address satellites can reach)");
        if (o.SpeculateAfterMs < -1 || o.SpeculateAfterMs >= o.HangoverMs)
            f.Add($"Voice:SpeculateAfterMs: {o.SpeculateAfterMs} must be -1 (off) or from 0 to below Voice:HangoverMs ({o.HangoverMs})");
        if (o.PiperVoicePath.Length > 0 && !File.Exists(o.PiperVoicePath))
            f.Add($"Voice:PiperVoicePath: '{o.PiperVoicePath}' does not exist (alicia models pull <voice>, or leave it empty for espeak-ng)");
        else if (o.PiperVoicePath.Length > 0 && !File.Exists(o.PiperVoicePath + ".json"))
            f.Add($"Voice:PiperVoicePath: '{o.PiperVoicePath}.json' (the voice's config) is missing beside it");
        if (string.IsNullOrWhiteSpace(o.EspeakVoice)) f.Add("Voice:EspeakVoice: empty (e.g. en-us)");
        foreach (string entry in o.SonosSpeakers)
            if (VoiceSettings.ParseSpeaker(entry).Error is { } problem) f.Add("Voice:SonosSpeakers: " + problem);
        if (!IPAddress.TryParse(o.SpeakerClipAddress, out _)) f.Add($"Voice:SpeakerClipAddress: '{o.SpeakerClipAddress}' is not an IP address");
        return f;
    }
}
