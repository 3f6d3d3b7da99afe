using System.Diagnostics.Metrics;
using Alicia.Engine.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Alicia.Engine.Monitoring;

/// <summary><c>AddAlicia().AddMonitoring()</c>: centralized health, latency budgets and alerts.</summary>
public static class MonitoringBuilderExtensions
{
    /// <summary>
    /// The monitoring service (<see cref="MonitoringOptions"/>): judges every heartbeat, publishes the system's health
    /// retained on <c>alicia/system/health/state</c>, answers health requests, raises alerts (history in
    /// <c>{DataDirectory}/alerts.db</c>). Adding it twice adds it once.
    /// </summary>
    public static IAliciaBuilder AddMonitoring(this IAliciaBuilder builder, Action<MonitoringOptions>? configure = null)
    {
        if (builder.Services.Any(d => d.ServiceType == typeof(MonitoringService)))
        {
            if (configure is not null) builder.Services.Configure(configure);
            return builder;
        }
        builder.Services.AddOptions<MonitoringOptions>();
        if (configure is not null) builder.Services.Configure(configure);
        return builder.AddService(sp => new MonitoringService(
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<MonitoringOptions>>().Value,
            new MonitoringMetrics(sp.GetService<IMeterFactory>())));
    }
}
