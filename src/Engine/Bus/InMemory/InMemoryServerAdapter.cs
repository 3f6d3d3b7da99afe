using System.IO.Pipelines;
using System.Net;
using Alicia.Engine.Bus.Transport;
using MQTTnet.Adapter;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Server;

namespace Alicia.Engine.Bus.InMemory;

/// <summary>
/// Lets the engine's own services reach the embedded broker over a pair of pipes instead of loopback
/// TCP: no sockets, no kernel round trip, the same MQTT protocol and hooks as any other client.
/// </summary>
internal sealed class InMemoryServerAdapter : IMqttServerAdapter
{
    internal static readonly IPEndPoint InProcessEndPoint = new(IPAddress.Loopback, 0);
    private MqttServerOptions? _options;

    public Func<IMqttChannelAdapter, Task>? ClientHandler { get; set; }

    /// <summary>The broker's packet observers, run on every in-process connection.</summary>
    public PacketTaps? Taps { get; set; }

    public Task StartAsync(MqttServerOptions options, IMqttNetLogger logger)
    {
        _options = options;
        return Task.CompletedTask;
    }

    public Task StopAsync() => Task.CompletedTask;

    public void Dispose() { }

    /// <summary>Opens a connection to the broker and returns the client's end of it: what the broker sends, and where to write to it.</summary>
    public (PipeReader Input, PipeWriter Output) ConnectPipes()
    {
        Func<IMqttChannelAdapter, Task> handler = ClientHandler ?? throw new InvalidOperationException("the embedded broker is not running");
        MqttServerOptions options = _options!;
        var clientToServer = new Pipe();
        var serverToClient = new Pipe();
        // The server's end reads and writes the pipes directly; completing them is the whole close.
        var adapter = new MqttPipeAdapter(clientToServer.Reader, serverToClient.Writer,
            new MqttPacketFormatterAdapter(new MqttBufferWriter(options.WriterBufferSize, options.WriterBufferSizeMax)), InProcessEndPoint, InProcessEndPoint, taps: Taps);
        _ = Task.Run(async () =>
        {
            try { await handler(adapter).ConfigureAwait(false); }
            finally { adapter.Dispose(); }
        });
        return (serverToClient.Reader, clientToServer.Writer);
    }
}
