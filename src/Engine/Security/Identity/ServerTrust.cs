using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Alicia.Engine.Security.Identity;

/// <summary>
/// How a client of ours trusts one of our servers (the MQTT broker, the voice audio port): the server's
/// certificate must chain to our CA alone (no system roots), carry serverAuth, be valid now, and name the
/// host it was reached by. One place, so <c>mqtts://</c>, <c>tls://</c> and <c>wss://</c> cannot drift apart.
/// </summary>
internal static class ServerTrust
{
    /// <summary>The CA certificate a client trusts (<c>ca.pem</c>, PEM or DER).</summary>
    public static X509Certificate2 LoadRoot(string path) => X509CertificateLoader.LoadCertificateFromFile(path);

    /// <summary>Checks a presented server certificate; <paramref name="problem"/> says why it is refused.</summary>
    public static bool Validate(X509Certificate2 root, X509Certificate? presented, SslPolicyErrors errors, DateTimeOffset at, out string problem)
    {
        if (presented is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            problem = "the server presented no certificate";
            return false;
        }
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            problem = "the server's certificate does not name the host it was reached by";
            return false;
        }
        // The platform's chain errors (an unknown root) are expected: our CA is trusted here, not system-wide.
        if (!CertificateAuthority.ChainsTo(presented, root, CertificateAuthority.ServerAuthOid, at, out string chain))
        {
            problem = $"the server's certificate is not trusted by CA '{root.GetNameInfo(X509NameType.SimpleName, forIssuer: false)}': {chain}";
            return false;
        }
        problem = "";
        return true;
    }

    /// <summary>A TLS callback over <see cref="Validate"/>; <paramref name="rejected"/> hears each refusal's reason.</summary>
    public static RemoteCertificateValidationCallback Callback(X509Certificate2 root, TimeProvider? clock = null, Action<string>? rejected = null)
    {
        clock ??= TimeProvider.System;
        return (_, certificate, _, errors) =>
        {
            if (Validate(root, certificate, errors, clock.GetUtcNow(), out string problem)) return true;
            rejected?.Invoke(problem);
            return false;
        };
    }
}
