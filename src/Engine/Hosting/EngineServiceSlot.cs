using Microsoft.Extensions.DependencyInjection;

namespace Alicia.Engine.Hosting;

/// <summary>
/// How <c>AddService&lt;TService&gt;</c> registers a capability as an <see cref="IEngineService"/>: the registration's
/// factory belongs to a slot, so the engine's composition can tell, without constructing it, whether the service
/// may be constructed after the broker listens (<see cref="Deferrable"/>).
/// </summary>
internal interface IEngineServiceSlot
{
    /// <summary>
    /// True when nothing about the broker's guard can depend on it: a sealed type that is not an
    /// <see cref="IBrokerExtension"/> (those shape the broker before it starts, so they are constructed first).
    /// </summary>
    bool Deferrable { get; }

    IEngineService Resolve(IServiceProvider services);
}

internal sealed class EngineServiceSlot<TService> : IEngineServiceSlot where TService : class, IEngineService
{
    public bool Deferrable { get; } = typeof(TService).IsSealed && !typeof(IBrokerExtension).IsAssignableFrom(typeof(TService));

    public IEngineService Resolve(IServiceProvider services) => services.GetRequiredService<TService>();
}
