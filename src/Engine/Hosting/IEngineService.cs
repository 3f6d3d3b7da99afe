namespace Alicia.Engine.Hosting;

/// <summary>
/// A capability that runs inside the engine (the device registry, the voice pipeline, bridges). Added
/// with <see cref="AliciaEngine.AddService"/> before start; started after the bus is up, in the order
/// added, and disposed in reverse order when the engine stops.
/// </summary>
public interface IEngineService : IAsyncDisposable
{
    /// <summary>A short name for logs and health (e.g. <c>registry</c>).</summary>
    string Name { get; }

    Task StartAsync(AliciaEngine engine, CancellationToken cancellationToken);
}
