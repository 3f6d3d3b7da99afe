using System.IO.Pipelines;
using Alicia.Engine.Bus.Transport;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;

namespace Alicia.Engine.Bus.InMemory;

/// <summary>
/// Gives an MQTTnet client a <see cref="MqttPipeAdapter"/> on the client's end of an in-process connection,
/// so both ends read and write the pipes directly (no stream wrappers, no per-packet async reads).
/// MQTTnet asks for a new adapter on every (re)connect.
/// </summary>
internal sealed class InMemoryClientAdapterFactory(InMemoryServerAdapter server) : IMqttClientAdapterFactory
{
    public IMqttChannelAdapter CreateClientAdapter(MqttClientOptions options, MqttPacketInspector packetInspector, IMqttNetLogger logger)
    {
        (PipeReader input, PipeWriter output) = server.ConnectPipes();
        var formatter = new MqttPacketFormatterAdapter(options.ProtocolVersion, new MqttBufferWriter(options.WriterBufferSize, options.WriterBufferSizeMax));
        return new MqttPipeAdapter(input, output, formatter, InMemoryServerAdapter.InProcessEndPoint, InMemoryServerAdapter.InProcessEndPoint);
    }
}
