using System.Security.Cryptography.X509Certificates;

namespace Alicia.Engine.Security.Gateway;

/// <summary>
/// The provisioned identities the gateway authenticates against: devices and services with their
/// certificates, passwords (services on loopback) and revocation state.
/// </summary>
internal interface IIdentityDirectory
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
