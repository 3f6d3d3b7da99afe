using Alicia.Assistant.Intents;
using Microsoft.Extensions.Options;

namespace Alicia.Assistant;

/// <summary>The <c>[Range]</c> checks of <see cref="AssistantSettings"/>, source-generated (no reflection).</summary>
[OptionsValidator]
internal sealed partial class AssistantSettingsRangeValidator : IValidateOptions<AssistantSettings>;

/// <summary>Checks the <c>Assistant</c> section when the host starts; every failure names its key.</summary>
internal sealed class AssistantSettingsValidator : IValidateOptions<AssistantSettings>
{
    public ValidateOptionsResult Validate(string? name, AssistantSettings options)
    {
        List<string> failures = Failures(options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    public static List<string> Failures(AssistantSettings o)
    {
        var f = new List<string>();
        ValidateOptionsResult ranges = new AssistantSettingsRangeValidator().Validate(null, o);
        if (ranges.Failed) f.AddRange(ranges.Failures.Select(m => "Assistant:" + m));
        if (o.GrammarPath.Length > 0 && !File.Exists(o.GrammarPath))
            f.Add($"Assistant:GrammarPath: '{o.GrammarPath}' does not exist");
        else if (o.GrammarPath.Length == 0 && !Grammar.Languages().Contains(o.Language))
            f.Add($"Assistant:Language: no grammar for '{o.Language}' (embedded: {string.Join(", ", Grammar.Languages())}); set Assistant:GrammarPath");
        if (!string.IsNullOrWhiteSpace(o.Grok.BaseUrl) && (!Uri.TryCreate(o.Grok.BaseUrl, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https")))
            f.Add($"Assistant:Grok:BaseUrl: '{o.Grok.BaseUrl}' is not an http(s) URL");
        if (o.Grok.FirstByteTimeoutMs > o.Grok.TotalTimeoutMs)
            f.Add($"Assistant:Grok:FirstByteTimeoutMs ({o.Grok.FirstByteTimeoutMs}) must not exceed Assistant:Grok:TotalTimeoutMs ({o.Grok.TotalTimeoutMs})");
        return f;
    }
}
