using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Alicia.Engine.Security.Identity;

namespace Alicia.Voice.Transport;

/// <summary>
/// The client side of the audio port (Alicia.Tools' <c>VoiceClient</c>): connects to a session's endpoint,
/// <c>tcp://</c>, <c>tls://</c>, <c>ws://</c> or <c>wss://</c>, and gives a byte stream for the frames.
/// </summary>
internal static class AudioClientTransport
{
    /// <summary>Connects; a TLS failure is an <see cref="AuthenticationException"/> that says what was trusted and why the engine was not.</summary>
    public static async Task<Stream> ConnectAsync(Uri endpoint, string? caCertificatePath, CancellationToken ct)
    {
        var trust = new EngineTrust(caCertificatePath);
        try
        {
            return endpoint.Scheme is "ws" or "wss"
                ? await ConnectWebSocketAsync(endpoint, trust, ct).ConfigureAwait(false)
                : await ConnectTcpAsync(endpoint, trust, ct).ConfigureAwait(false);
        }
        finally
        {
            // The callback has run by now (the handshake is done or failed); the root is not needed after it.
            trust.Dispose();
        }
    }

    private static async Task<Stream> ConnectTcpAsync(Uri endpoint, EngineTrust trust, CancellationToken ct)
    {
        if (endpoint.Scheme is not ("tcp" or "tls")) throw new NotSupportedException($"audio endpoint {endpoint}: only tcp:// and tls:// are known");
        string host = endpoint.Host.Trim('[', ']');
        var client = new TcpClient { NoDelay = true };
        Stream? stream = null;
        try
        {
            await client.ConnectAsync(host, endpoint.Port, ct).ConfigureAwait(false);
            stream = new NetworkStream(client.Client, ownsSocket: true);
            if (endpoint.Scheme == "tcp") return stream;
            var tls = new SslStream(stream, leaveInnerStreamOpen: false);
            stream = tls;
            try
            {
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = host,
                    RemoteCertificateValidationCallback = trust.Callback,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                }, ct).ConfigureAwait(false);
            }
            catch (AuthenticationException e)
            {
                throw trust.Explain(endpoint, e);
            }
            return tls;
        }
        catch
        {
            if (stream is not null) await stream.DisposeAsync().ConfigureAwait(false);
            client.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The frames over WebSocket (<c>ws://</c> or <c>wss://</c>): each write is one binary message; reads see
    /// the engine's messages as one byte stream. Disposing the stream does the close handshake (bounded).
    /// </summary>
    private static async Task<Stream> ConnectWebSocketAsync(Uri endpoint, EngineTrust trust, CancellationToken ct)
    {
        var socket = new ClientWebSocket();
        try
        {
            if (endpoint.Scheme == "wss") socket.Options.RemoteCertificateValidationCallback = trust.Callback;
            try
            {
                await socket.ConnectAsync(endpoint, ct).ConfigureAwait(false);
            }
            catch (WebSocketException e) when (trust.Rejection is not null || AuthenticationFailureIn(e) is not null)
            {
                throw trust.Explain(endpoint, e);
            }
            return WebSocketStream.Create(socket, WebSocketMessageType.Binary, closeTimeout: TimeSpan.FromSeconds(2));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The TLS handshake's failure inside <paramref name="e"/> (a WebSocket connect wraps it a few levels deep), or null.</summary>
    private static AuthenticationException? AuthenticationFailureIn(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
            if (e is AuthenticationException found) return found;
        return null;
    }

    /// <summary>Trust in the engine's certificate for one stream: our CA alone when given (as for mqtts://), else the system's roots.</summary>
    private sealed class EngineTrust : IDisposable
    {
        private readonly X509Certificate2? _root;
        private readonly string? _caPath;

        public EngineTrust(string? caPath)
        {
            _caPath = caPath;
            _root = caPath is null ? null : ServerTrust.LoadRoot(caPath);
            Callback = _root is null ? null : ServerTrust.Callback(_root, rejected: problem => Rejection = problem);
        }

        public RemoteCertificateValidationCallback? Callback { get; }

        /// <summary>Why our validation refused the engine's certificate (null: it did not, or the platform did).</summary>
        public string? Rejection { get; private set; }

        public AuthenticationException Explain(Uri endpoint, Exception e)
        {
            string reason = Rejection ?? (AuthenticationFailureIn(e) ?? e).Message;
            string trusted = _caPath is null ? "no CA given (Bus:CaCertificatePath), so only the system's roots are trusted" : "trusting " + _caPath;
            return new AuthenticationException($"TLS to the engine's audio port {endpoint.Scheme}://{endpoint.Authority} failed ({trusted}): {reason}", e);
        }

        public void Dispose() => _root?.Dispose();

    }
}
