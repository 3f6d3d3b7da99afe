using Alicia.Engine.Hosting;
using Alicia.Engine.Registry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Alicia.Assistant;

/// <summary><c>AddAlicia().AddRegistry().AddAssistant(a => ...)</c>: the acting half of the voice assistant.</summary>
public static class AssistantBuilderExtensions
{
    /// <summary>
    /// The command router, local intents and Grok (<see cref="AssistantSettings"/>, validated at start); it needs the
    /// registry (added here when missing). The Grok key, when not configured, comes from <c>XAI_API_KEY</c>.
    /// </summary>
    public static IAliciaBuilder AddAssistant(this IAliciaBuilder builder, Action<AssistantSettings>? configure = null)
    {
        if (!builder.Services.Any(d => d.ServiceType == typeof(RegistryService))) builder.AddRegistry();
        OptionsBuilder<AssistantSettings> options = builder.Services.AddOptions<AssistantSettings>();
        if (configure is not null) options.Configure(configure);
        options.PostConfigure(s =>
        {
            if (string.IsNullOrWhiteSpace(s.Grok.ApiKey)) s.Grok.ApiKey = Environment.GetEnvironmentVariable("XAI_API_KEY") ?? "";
        });
        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AssistantSettings>, AssistantSettingsValidator>());
        return builder.AddService(sp => new AssistantService(sp.GetRequiredService<IOptions<AssistantSettings>>().Value, sp.GetRequiredService<RegistryService>()));
    }
}
