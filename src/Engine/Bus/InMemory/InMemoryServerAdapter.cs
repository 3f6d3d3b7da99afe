using System.IO.Pipelines;
using System.Net;
using MQTTnet.Adapter;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Implementations;
using MQTTnet.Server;

namespace Alicia.Engine.Bus.InMemory;

/// <summary>
/// Lets the engine's own services reach the embedded broker over a pair of pipes instead of loopback
/// TCP: no sockets, no kernel round trip, the same MQTT protocol and hooks as any other client.
/// </summary>
internal sealed class InMemoryServerAdapter : IMqttServerAdapter
{
    private static readonly IPEndPoint InProcessEndPoint = new(IPAddress.Loopback, 0);
    private IMqttNetLogger _logger = MqttNetNullLogger.Instance;
    private MqttServerOptions? _options;

    public Func<IMqttChannelAdapter, Task>? ClientHandler { get; set; }

    public Task StartAsync(MqttServerOptions options, IMqttNetLogger logger)
    {
        _options = options;
        _logger = logger;
        return Task.CompletedTask;
    }

    public Task StopAsync() => Task.CompletedTask;

    public void Dispose() { }

    /// <summary>Opens a connection to the broker and returns the client's end of it.</summary>
    public Stream Connect()
    {
        Func<IMqttChannelAdapter, Task> handler = ClientHandler ?? throw new InvalidOperationException("the embedded broker is not running");
        MqttServerOptions options = _options!;
        var clientToServer = new Pipe();
        var serverToClient = new Pipe();
        var serverSide = new DuplexPipeStream(clientToServer.Reader, serverToClient.Writer);
        var channel = new MqttTcpChannel(serverSide, InProcessEndPoint, InProcessEndPoint, null);
        var adapter = new MqttChannelAdapter(channel, new MqttPacketFormatterAdapter(new MqttBufferWriter(options.WriterBufferSize, options.WriterBufferSizeMax)), _logger);
        _ = Task.Run(async () =>
        {
            try { await handler(adapter).ConfigureAwait(false); }
            finally { adapter.Dispose(); }
        });
        return new DuplexPipeStream(serverToClient.Reader, clientToServer.Writer);
    }
}
