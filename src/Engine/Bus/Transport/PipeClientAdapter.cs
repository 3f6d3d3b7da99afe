using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Adapter;
using MQTTnet.Channel;
using MQTTnet.Formatter;
using MQTTnet.Packets;

namespace Alicia.Engine.Bus.Transport;

/// <summary>
/// A client connection that MQTTnet's channel opens (TCP, TLS, stream provider) and a <see cref="MqttPipeAdapter"/>
/// reads and writes once it is open: packets that arrived together are decoded without an await each.
/// </summary>
internal sealed class PipeClientAdapter(IMqttChannel channel, MqttPacketFormatterAdapter formatter) : IMqttChannelAdapter
{
    private MqttPipeAdapter? _open;

    private MqttPipeAdapter Open => _open ?? throw new MQTTnet.Exceptions.MqttCommunicationException("The connection is not open.");

    public long BytesReceived => _open?.BytesReceived ?? 0;
    public long BytesSent => _open?.BytesSent ?? 0;
    public X509Certificate2 ClientCertificate => channel.ClientCertificate;
    public EndPoint RemoteEndPoint => channel.RemoteEndPoint;
    public EndPoint LocalEndPoint => channel.LocalEndPoint;
    public bool IsSecureConnection => channel.IsSecureConnection;
    public MqttPacketFormatterAdapter PacketFormatterAdapter => formatter;

    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        await channel.ConnectAsync(cancellationToken).ConfigureAwait(false);
        _open = MqttPipeAdapter.OverStream(new MqttChannelStream(channel), formatter, channel.RemoteEndPoint, channel.LocalEndPoint,
            clientCertificate: channel.ClientCertificate, secure: channel.IsSecureConnection);
    }

    public Task DisconnectAsync(CancellationToken cancellationToken) => _open?.DisconnectAsync(cancellationToken) ?? channel.DisconnectAsync(cancellationToken);
    public Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken) => Open.ReceivePacketAsync(cancellationToken);
    public Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken) => Open.SendPacketAsync(packet, cancellationToken);
    public void ResetStatistics() => _open?.ResetStatistics();

    public void Dispose()
    {
        if (_open is { } open) open.Dispose();
        else channel.Dispose();
    }
}
