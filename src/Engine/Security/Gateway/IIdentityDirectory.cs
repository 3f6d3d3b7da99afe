using System.Security.Cryptography.X509Certificates;

namespace Alicia.Engine.Security.Gateway;

/// <summary>
/// The provisioned identities the gateway authenticates against: devices and services with their
/// certificates, passwords (services on loopback) and revocation state.
/// </summary>
public interface IIdentityDirectory
{
    /// <summary>An active (not revoked) identity by id.</summary>
    bool TryGet(string id, out IdentityRecord identity);

    /// <summary>
    /// Authenticates a TLS client certificate (already chain-validated against our CA by the TLS layer):
    /// returns the identity it belongs to, or a reason it is refused (unknown, revoked, expired, superseded).
    /// </summary>
    bool TryAuthenticate(X509Certificate2 certificate, out IdentityRecord identity, out string reason);

    /// <summary>Authenticates username/password (services on loopback only).</summary>
    bool TryAuthenticate(string username, ReadOnlySpan<byte> password, out IdentityRecord identity, out string reason);

    /// <summary>Raised when an identity is revoked or renewed, so live connections can be dropped.</summary>
    event Action<string>? Changed;
}

/// <summary>TLS settings of the embedded broker's encrypted listener.</summary>
public sealed class BrokerTlsSettings
{
    public required X509Certificate2 ServerCertificate { get; init; }

    /// <summary>Validates a client certificate chain against the CA; required client certificates when set.</summary>
    public required System.Net.Security.RemoteCertificateValidationCallback ClientCertificateValidator { get; init; }
}
