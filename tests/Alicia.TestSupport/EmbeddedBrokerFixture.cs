using Alicia.Engine.Bus;

namespace Alicia.TestSupport;

/// <summary>The engine's embedded MQTTnet broker on a free loopback port, shared by the tests of a class.</summary>
public sealed class EmbeddedBrokerFixture : IAsyncLifetime
{
    public EmbeddedBroker Broker { get; } = new(new EmbeddedBrokerOptions { Port = 0 });

    public BrokerEndpoint Endpoint => BrokerEndpoint.Tcp("127.0.0.1", Broker.TcpEndPoint!.Port);

    public Task InitializeAsync() => Broker.StartAsync();

    public async Task DisposeAsync() => await Broker.DisposeAsync();
}
