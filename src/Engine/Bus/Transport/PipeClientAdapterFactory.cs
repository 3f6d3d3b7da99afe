using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Implementations;

namespace Alicia.Engine.Bus.Transport;

/// <summary>Gives MQTTnet clients a <see cref="PipeClientAdapter"/> over MQTTnet's own TCP/TLS channel; other channels (WebSocket) as MQTTnet makes them.</summary>
internal sealed class PipeClientAdapterFactory : IMqttClientAdapterFactory
{
    public static readonly PipeClientAdapterFactory Instance = new();
    private static readonly MqttClientAdapterFactory Fallback = new();

    public IMqttChannelAdapter CreateClientAdapter(MqttClientOptions options, MqttPacketInspector packetInspector, IMqttNetLogger logger)
    {
        if (options.ChannelOptions is not MqttClientTcpOptions || packetInspector is not null) return Fallback.CreateClientAdapter(options, packetInspector, logger);
        return new PipeClientAdapter(new MqttTcpChannel(options), new MqttPacketFormatterAdapter(options.ProtocolVersion, new MqttBufferWriter(options.WriterBufferSize, options.WriterBufferSizeMax)));
    }
}
