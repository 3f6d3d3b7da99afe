using Alicia.Engine.Bus;

namespace Alicia.Integration.Tests;

/// <summary>The bus suite against the engine's embedded MQTTnet broker (TCP clients).</summary>
public sealed class EmbeddedBrokerBusTests(EmbeddedBrokerFixture fixture) : BusSuite, IClassFixture<EmbeddedBrokerFixture>
{
    protected override BrokerEndpoint Endpoint => fixture.Endpoint;
}

/// <summary>The same bus suite against a real Mosquitto 2 (the external-broker mode).</summary>
public sealed class MosquittoBusTests(MosquittoFixture fixture) : BusSuite, IClassFixture<MosquittoFixture>
{
    protected override BrokerEndpoint Endpoint => fixture.Endpoint;
}

/// <summary>The same bus suite with the engine's in-process transport (pipes, no TCP) to the embedded broker.</summary>
public sealed class InMemoryTransportBusTests(EmbeddedBrokerFixture fixture) : BusSuite, IClassFixture<EmbeddedBrokerFixture>
{
    protected override BrokerEndpoint Endpoint => BrokerEndpoint.InProcess(fixture.Broker.InMemory);
}
