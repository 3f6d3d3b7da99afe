using System.Net;
using Alicia.Engine.Bus.InMemory;
using MQTTnet.Channel;

namespace Alicia.TestSupport.InMemory;

/// <summary>
/// Plugs a stock MQTTnet client into the embedded broker's in-process transport through a stream (the engine's own
/// clients read the pipes directly); called on every (re)connect.
/// </summary>
internal sealed class InMemoryStreamProvider(InMemoryServerAdapter adapter) : IMqttClientStreamProvider
{
    public Task<Stream> ConnectAsync(EndPoint brokerEndPoint, CancellationToken cancellationToken)
    {
        (System.IO.Pipelines.PipeReader input, System.IO.Pipelines.PipeWriter output) = adapter.ConnectPipes();
        return Task.FromResult<Stream>(new DuplexPipeStream(input, output));
    }
}
