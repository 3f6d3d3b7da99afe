using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using MQTTnet.Adapter;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Server;

namespace Alicia.Engine.Bus.Transport;

/// <summary>
/// The broker's network listeners (plain TCP and TLS 1.3), in place of MQTTnet's own TCP adapter, which
/// has no hook for the stream: every connection's (decrypted) stream is read and written by a
/// <see cref="MqttPipeAdapter"/>, which refuses a packet above the limits before buffering it.
/// </summary>
internal sealed class GuardedTcpServerAdapter(
    IPEndPoint? plain, IPEndPoint? encrypted, BrokerTlsSettings? tls, PacketLimits limits, ILogger logger, PacketTaps? taps = null) : IMqttServerAdapter
{
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _listeners = [];
    private MqttServerOptions? _options;

    public Func<IMqttChannelAdapter, Task>? ClientHandler { get; set; }

    /// <summary>The plain endpoint as bound (real port when 0 was asked for).</summary>
    public IPEndPoint? PlainEndPoint { get; private set; }

    /// <summary>The TLS endpoint as bound.</summary>
    public IPEndPoint? EncryptedEndPoint { get; private set; }

    public Task StartAsync(MqttServerOptions options, IMqttNetLogger logger)
    {
        _options = options;
        try
        {
            if (plain is not null) PlainEndPoint = Listen(plain, encrypt: false);
            if (encrypted is not null) EncryptedEndPoint = Listen(encrypted, encrypt: true);
        }
        catch
        {
            CloseListeners();
            throw;
        }
        return Task.CompletedTask;
    }

    private IPEndPoint Listen(IPEndPoint endPoint, bool encrypt)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listeners.Add(socket);
        // Plain SO_REUSEADDR (as Kestrel does), so a restart binds while old connections sit in TIME_WAIT.
        // Not SocketOptionName.ReuseAddress: on Unix .NET adds SO_REUSEPORT, and a second broker could
        // bind the same port instead of failing with "address in use".
        if (OperatingSystem.IsLinux()) socket.SetRawSocketOption(1 /* SOL_SOCKET */, 2 /* SO_REUSEADDR */, [1, 0, 0, 0]);
        socket.Bind(endPoint);
        socket.Listen(128);
        _ = AcceptLoopAsync(socket, encrypt);
        return (IPEndPoint)socket.LocalEndPoint!;
    }

    private async Task AcceptLoopAsync(Socket listener, bool encrypt)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await listener.AcceptAsync(_stop.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException e)
            {
                if (_stop.IsCancellationRequested) return;
                logger.LogWarning("Accepting an MQTT connection failed: {Error}", e.SocketErrorCode);
                continue;
            }
            _ = Task.Run(() => ServeAsync(client, encrypt));
        }
    }

    private async Task ServeAsync(Socket socket, bool encrypt)
    {
        Func<IMqttChannelAdapter, Task>? handler = ClientHandler;
        if (handler is null || _options is null)
        {
            socket.Dispose();
            return;
        }
        EndPoint remote = socket.RemoteEndPoint!;
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        X509Certificate2? clientCertificate = null;
        try
        {
            socket.NoDelay = true;
            if (encrypt)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(HandshakeTimeout);
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificate = tls!.ServerCertificate,
                    ClientCertificateRequired = true,
                    EnabledSslProtocols = SslProtocols.Tls13,
                    RemoteCertificateValidationCallback = tls.ClientCertificateValidator,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                }, timeout.Token).ConfigureAwait(false);
                clientCertificate = ssl.RemoteCertificate as X509Certificate2 ?? (ssl.RemoteCertificate is { } c ? new X509Certificate2(c) : null);
            }
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or SocketException)
        {
            logger.LogDebug("TLS handshake with {Remote} failed: {Error}", remote, e.Message);
            await stream.DisposeAsync().ConfigureAwait(false);
            return;
        }

        // Read and written through pipes: packets that arrived together are decoded without an await each,
        // and a packet announcing more than the limit is refused from its fixed header.
        MqttPipeAdapter adapter = MqttPipeAdapter.OverStream(stream, new MqttPacketFormatterAdapter(new MqttBufferWriter(_options.WriterBufferSize, _options.WriterBufferSizeMax)),
            remote, socket.LocalEndPoint, limits, taps, clientCertificate, encrypt,
            (announced, limit) => logger.LogWarning("Closed the MQTT connection from {Remote}: a packet of {Announced} bytes announced, the limit is {Limit}", remote, announced, limit));
        try { await handler(adapter).ConfigureAwait(false); }
        catch (Exception e) when (e is not OutOfMemoryException) { logger.LogDebug("MQTT connection from {Remote} ended: {Error}", remote, e.Message); }
        finally { adapter.Dispose(); }
    }

    public Task StopAsync()
    {
        _stop.Cancel();
        CloseListeners();
        return Task.CompletedTask;
    }

    private void CloseListeners()
    {
        foreach (Socket listener in _listeners) listener.Dispose();
        _listeners.Clear();
    }

    public void Dispose()
    {
        StopAsync();
        _stop.Dispose();
    }
}
