using System.Diagnostics.Metrics;
using Alicia.Contracts;
using Alicia.Engine.Registry;
using Alicia.Engine.Security.Audit;
using Alicia.Engine.Security.Gateway;
using Alicia.Engine.Security.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Alicia.Engine.Hosting;

/// <summary>The engine in a Microsoft.Extensions host: <c>services.AddAlicia(o => ...).AddGateway().AddRegistry()</c>.</summary>
public static class AliciaServiceCollectionExtensions
{
    /// <summary>
    /// The engine (broker, trust, signed bus, heartbeat, API) as a singleton <see cref="AliciaEngine"/> that
    /// the host starts and stops (<see cref="Microsoft.Extensions.Hosting.IHostedService"/>); its options
    /// are validated when the host starts. Add capabilities to the returned builder.
    /// </summary>
    public static IAliciaBuilder AddAlicia(this IServiceCollection services, Action<AliciaEngineOptions>? configure = null)
    {
        bool first = !services.Any(d => d.ServiceType == typeof(AliciaEngine));
        OptionsBuilder<AliciaEngineOptions> options = services.AddOptions<AliciaEngineOptions>();
        if (configure is not null) options.Configure(configure);
        if (!first) return new AliciaBuilder(services);
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AliciaEngineOptions>, AliciaEngineOptionsValidator>());
        services.AddSingleton(sp =>
        {
            AliciaEngineOptions value = sp.GetRequiredService<IOptions<AliciaEngineOptions>>().Value;
            CompositionTrace?.Invoke("options bound");
            ILoggerFactory? logging = sp.GetService<ILoggerFactory>();
            CompositionTrace?.Invoke("logging");
            var engine = new AliciaEngine(value, null, logging, sp.GetService<IMeterFactory>(), sp.GetService<TimeProvider>(), sp.GetServices<MessageSet>());
            Compose(engine, services, sp);
            CompositionTrace?.Invoke("broker's guards constructed");
            return engine;
        });
        services.AddHostedService(StartEngine);
        return new AliciaBuilder(services);
    }

    private static AliciaEngine StartEngine(IServiceProvider services) => services.GetRequiredService<AliciaEngine>();

    /// <summary>
    /// Gives the engine its services in registration order. Those added with <c>AddService</c> whose type cannot guard
    /// the broker (<see cref="IEngineServiceSlot.Deferrable"/>) are constructed only once the broker listens, so their
    /// construction does not delay it; the broker extensions (the gateway, identities, monitoring's counters) and
    /// whatever they depend on are constructed now. An <see cref="IEngineService"/> registered otherwise cannot be told
    /// apart without constructing it: then every service is constructed now, as before.
    /// </summary>
    private static void Compose(AliciaEngine engine, IServiceCollection registrations, IServiceProvider services)
    {
        IEngineServiceSlot?[] slots = [.. registrations.Where(d => d.ServiceType == typeof(IEngineService) && !d.IsKeyedService).Select(d => d.ImplementationFactory?.Target as IEngineServiceSlot)];
        if (slots.Any(s => s is null))
        {
            foreach (IEngineService service in services.GetServices<IEngineService>()) engine.AddService(service);
            return;
        }
        foreach (IEngineServiceSlot slot in slots!)
        {
            if (slot.Deferrable) engine.AddDeferredService(() => slot.Resolve(services));
            else engine.AddService(slot.Resolve(services));
        }
    }

    /// <summary>Told each step of the composition as it ends (the host's startup trace); null: nobody listens.</summary>
    internal static Action<string>? CompositionTrace { get; set; }

    /// <summary>Message types of the embedder's own assembly (its generated <c>AliciaMessageSet.Instance</c>), dispatched beside Alicia's.</summary>
    public static IAliciaBuilder AddMessages(this IAliciaBuilder builder, MessageSet messages)
    {
        builder.Services.AddSingleton(messages);
        return builder;
    }

    /// <summary>A capability of the embedder's own, started with the engine after the services it names in <see cref="IEngineService.StartsAfter"/>.</summary>
    public static IAliciaBuilder AddService<TService>(this IAliciaBuilder builder, Func<IServiceProvider, TService> factory)
        where TService : class, IEngineService
    {
        builder.Services.TryAddSingleton(sp =>
        {
            TService service = factory(sp);
            CompositionTrace?.Invoke($"constructed {service.Name}");
            return service;
        });
        builder.Services.AddSingleton<IEngineService>(new EngineServiceSlot<TService>().Resolve);
        return builder;
    }

    /// <summary>
    /// Provisioned identities (<c>alicia ca init</c>, <c>alicia device provision</c>): the embedded broker's
    /// TLS listener when <c>Broker:TlsPort</c> is set, and the trust store kept in step with provisioning,
    /// renewal and revocation. The gateway authenticates against them.
    /// </summary>
    public static IAliciaBuilder AddIdentities(this IAliciaBuilder builder)
    {
        builder.AddService(sp => new IdentityService(Engine(sp), loggerFactory: sp.GetService<ILoggerFactory>(), clock: sp.GetService<TimeProvider>()));
        builder.Services.AddSingleton<IIdentityDirectory>(sp => sp.GetRequiredService<IdentityService>().Store);
        return builder;
    }

    /// <summary>
    /// The security gateway in the embedded broker (<c>Gateway</c> options; off with <c>Gateway:Enabled=false</c>
    /// or an external broker): authentication against the provisioned identities (<see cref="AddIdentities"/>),
    /// ACLs, ingress verification, rate limits and the audit log (<c>{DataDirectory}/audit.db</c>).
    /// </summary>
    public static IAliciaBuilder AddGateway(this IAliciaBuilder builder)
    {
        builder.Services.TryAddSingleton(sp => new AuditLog(Path.Combine(Engine(sp).DataDirectory, "audit.db")));
        builder.AddService(sp =>
        {
            AliciaEngineOptions options = Engine(sp);
            bool active = options.Gateway.Enabled && string.IsNullOrWhiteSpace(options.BrokerUrl);
            IIdentityDirectory[] directories = [.. sp.GetServices<IIdentityDirectory>()];
            var gateway = new SecurityGateway(options.Gateway, directories.Length switch { 0 => null, 1 => directories[0], _ => new IdentityDirectories(directories) },
                active ? sp.GetRequiredService<AuditLog>() : null);
            if (sp.GetService<IDevicePolicy>() is { } policy)
            {
                gateway.RateLimitOf = policy.RateLimitOf;
                gateway.RateLimitsLoaded = () => policy.IsLoaded;
                gateway.CapabilityTopicsOf = policy.CapabilityTopicsOf;
            }
            return gateway;
        });
        return builder;
    }

    /// <summary>The device registry (<c>Registry</c> options): discovery, persistence, liveness, capability routing.</summary>
    public static IAliciaBuilder AddRegistry(this IAliciaBuilder builder)
    {
        builder.AddService(sp => new RegistryService(Engine(sp).Registry));
        builder.Services.TryAddSingleton<IDevicePolicy>(sp => sp.GetRequiredService<RegistryService>());
        return builder;
    }

    private static AliciaEngineOptions Engine(IServiceProvider services) => services.GetRequiredService<IOptions<AliciaEngineOptions>>().Value;
}
