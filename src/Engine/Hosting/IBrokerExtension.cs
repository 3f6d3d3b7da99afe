using Alicia.Engine.Bus;

namespace Alicia.Engine.Hosting;

/// <summary>
/// A service that shapes the embedded broker before it starts (its TLS listener's certificate and client
/// validation, <see cref="EmbeddedBroker.Tls"/>; Alicia's own gateway also attaches authentication,
/// authorization and ingress checks). Called for every added <see cref="IEngineService"/> that implements
/// it, before the broker starts; not called when the engine uses an external broker.
/// </summary>
public interface IBrokerExtension
{
    void ConfigureBroker(EmbeddedBroker broker, AliciaEngine engine);
}
