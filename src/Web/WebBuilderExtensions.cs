using Alicia.Engine.Hosting;
using Alicia.Engine.Monitoring;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Alicia.Web;

/// <summary><c>AddAlicia().AddWeb(o => ...)</c>: health probes, Prometheus metrics and the live dashboard over HTTP.</summary>
public static class WebBuilderExtensions
{
    /// <summary>
    /// The web host (<see cref="WebOptions"/>; 127.0.0.1:8080 by default) with <c>/healthz</c>, <c>/readyz</c>,
    /// <c>/metrics</c> and the dashboard at <c>/</c>. Adds the monitoring service when it is missing.
    /// </summary>
    public static IAliciaBuilder AddWeb(this IAliciaBuilder builder, Action<WebOptions>? configure = null)
    {
        builder.AddMonitoring();
        builder.Services.AddOptions<WebOptions>();
        if (configure is not null) builder.Services.Configure(configure);
        if (builder.Services.Any(d => d.ServiceType == typeof(WebService))) return builder;
        return builder.AddService(sp => new WebService(sp.GetRequiredService<IOptions<WebOptions>>().Value));
    }
}
