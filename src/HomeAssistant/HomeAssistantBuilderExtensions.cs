using Alicia.Engine.Hosting;
using Alicia.Engine.Registry;
using Microsoft.Extensions.DependencyInjection;

namespace Alicia.HomeAssistant;

/// <summary><c>AddAlicia().AddRegistry().AddHomeAssistant()</c>: every registered device mirrored to Home Assistant.</summary>
public static class HomeAssistantBuilderExtensions
{
    /// <summary>The Home Assistant MQTT discovery bridge; it needs the registry (<c>AddRegistry()</c>, added here when missing).</summary>
    public static IAliciaBuilder AddHomeAssistant(this IAliciaBuilder builder, HomeAssistantOptions? options = null)
    {
        if (!builder.Services.Any(d => d.ServiceType == typeof(RegistryService))) builder.AddRegistry();
        return builder.AddService(sp => new HomeAssistantBridge(sp.GetRequiredService<RegistryService>(), options));
    }
}
