using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Alicia.Voice.Transport;

/// <summary>
/// The audio port's TLS: which connections may stay plaintext, and the server handshake. TLS 1.3 only, as
/// on the broker's TLS listener: a satellite that negotiated its session over the bus's TLS already speaks
/// it, browsers all do, and a 1.2 fallback would only add a weaker configuration to audit. No client
/// certificate: the one-time token from the authenticated bus authorises the stream, and browsers could
/// not present one without a prompt.
/// </summary>
internal sealed class AudioTls
{
    /// <summary>The first byte of a TLS connection: a handshake record (RFC 8446 5.1), which is no frame type nor 'G'.</summary>
    public const byte HandshakeRecord = 0x16;

    private readonly SslServerAuthenticationOptions? _server;
    private readonly TimeSpan _handshakeTimeout;

    public AudioTls(X509Certificate2? certificate, bool? requireTls, TimeSpan handshakeTimeout)
    {
        if (certificate is null && requireTls == true)
            throw new InvalidOperationException("Voice: TLS is required on the audio port but there is no certificate (enable the broker's TLS listener: alicia ca init, Broker:TlsPort)");
        if (certificate is not null && !certificate.HasPrivateKey)
            throw new InvalidOperationException("Voice: the audio port's TLS certificate has no private key");
        Required = certificate is not null && requireTls != false;
        _handshakeTimeout = handshakeTimeout;
        if (certificate is null) return;
        _server = new SslServerAuthenticationOptions
        {
            // Built once: the chain is not rebuilt per connection, and nothing is downloaded (offline).
            ServerCertificateContext = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true),
            EnabledSslProtocols = SslProtocols.Tls13,
            ClientCertificateRequired = false,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
    }

    /// <summary>A certificate is configured: sessions advertise tls:// and wss://.</summary>
    public bool Enabled => _server is not null;

    /// <summary>Plaintext is refused from everywhere, loopback included.</summary>
    public bool Required { get; }

    /// <summary>Why a plaintext connection from <paramref name="remote"/> is refused, or null when it is accepted.</summary>
    public string? RefusePlaintext(EndPoint? remote)
    {
        if (!Enabled) return null;
        if (Required) return "TLS is required on this audio port: connect with tls:// (or wss:// from a browser)";
        // Loopback audio never leaves the machine: encrypting it would protect nothing.
        bool loopback = remote is IPEndPoint ip && IPAddress.IsLoopback(ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address);
        return loopback ? null : "plaintext audio is accepted from loopback only: connect with tls:// (or wss:// from a browser)";
    }

    /// <summary>The server handshake, capped at the handshake timeout: the TLS stream, or why there is none.</summary>
    public async Task<(SslStream? Stream, string? Failure)> AuthenticateAsync(Stream network, CancellationToken ct)
    {
        var tls = new SslStream(network, leaveInnerStreamOpen: true);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_handshakeTimeout);
        string failure;
        try
        {
            await tls.AuthenticateAsServerAsync(_server!, timeout.Token).ConfigureAwait(false);
            return (tls, null);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            failure = $"TLS handshake not finished within {_handshakeTimeout.TotalSeconds:0.###} s";
        }
        catch (OperationCanceledException)
        {
            failure = "TLS handshake not finished before the connection's deadline";
        }
        catch (AuthenticationException e)
        {
            failure = "TLS handshake failed: " + (e.InnerException is { } inner ? $"{e.Message} ({inner.Message})" : e.Message);
        }
        catch (IOException e)
        {
            failure = "TLS handshake failed: connection lost: " + e.Message;
        }
        await tls.DisposeAsync().ConfigureAwait(false);
        return (null, failure);
    }
}
