using System.Net;
using MQTTnet.Channel;

namespace Alicia.Engine.Bus.InMemory;

/// <summary>Plugs an MQTTnet client into <see cref="InMemoryServerAdapter"/>; called on every (re)connect.</summary>
internal sealed class InMemoryStreamProvider(InMemoryServerAdapter adapter) : IMqttClientStreamProvider
{
    public Task<Stream> ConnectAsync(EndPoint brokerEndPoint, CancellationToken cancellationToken) => Task.FromResult(adapter.Connect());
}
