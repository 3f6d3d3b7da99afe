namespace Alicia.Engine.Hosting;

/// <summary>
/// A capability that runs inside the engine (the device registry, the voice pipeline, bridges). Registered
/// with <c>AddAlicia().Add...()</c> (or <see cref="AliciaEngine.AddService"/>); started after the bus is up,
/// each after the services it names in <see cref="StartsAfter"/>, and disposed in reverse order when the
/// engine stops.
/// </summary>
public interface IEngineService : IAsyncDisposable
{
    /// <summary>A short name for logs and health (e.g. <c>registry</c>).</summary>
    string Name { get; }

    /// <summary>Services (by type) that must have started before this one, when they are present.</summary>
    IReadOnlyList<Type> StartsAfter => [];

    /// <summary>
    /// True for a service that loads heavy state (models): with <see cref="AliciaEngineOptions.BackgroundStart"/> the
    /// engine starts it after the others without waiting for it. No service may start after such a service.
    /// </summary>
    bool StartsInBackground => false;

    Task StartAsync(AliciaEngine engine, CancellationToken cancellationToken);
}
