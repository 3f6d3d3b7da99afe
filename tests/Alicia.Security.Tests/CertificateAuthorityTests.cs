using Alicia.Tools.Mosquitto;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Alicia.Engine.Security.Gateway;
using Alicia.Engine.Security.Identity;
using Microsoft.Extensions.Time.Testing;

namespace Alicia.Security.Tests;

public sealed class CertificateAuthorityTests : IDisposable
{
    private readonly TempDirectory _dir = new("alicia-sec");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Init_writes_pem_files_with_private_modes_and_a_p256_ca_with_basic_constraints()
    {
        using CertificateAuthority ca = CertificateAuthority.Init(_dir.Data);

        Assert.True(File.Exists(ca.CertificatePath));
        Assert.True(File.Exists(ca.KeyPath));
        Assert.StartsWith("-----BEGIN CERTIFICATE-----", File.ReadAllText(ca.CertificatePath));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(ca.KeyPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, UnixModes.Of(ca.KeyPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, UnixModes.Of(ca.ServerKeyPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, UnixModes.Of(ca.Directory));

        using X509Certificate2 root = CertificateAuthority.LoadRoot(ca.CertificatePath);
        var constraints = Assert.Single(root.Extensions.OfType<X509BasicConstraintsExtension>());
        Assert.True(constraints.CertificateAuthority);
        Assert.True(constraints.Critical);
        var usage = Assert.Single(root.Extensions.OfType<X509KeyUsageExtension>());
        Assert.True(usage.KeyUsages.HasFlag(X509KeyUsageFlags.KeyCertSign));
        Assert.True(usage.KeyUsages.HasFlag(X509KeyUsageFlags.CrlSign));
        using var key = root.GetECDsaPublicKey();
        Assert.NotNull(key);
        Assert.Equal(256, key!.KeySize);
        Assert.Equal(root.Subject, root.Issuer);

        // A second init does not silently replace the CA (that would orphan every issued certificate).
        Assert.Throws<InvalidOperationException>(() => CertificateAuthority.Init(_dir.Data));
        using CertificateAuthority loaded = CertificateAuthority.Load(_dir.Data);
        Assert.Equal(root.Thumbprint, loaded.Certificate.Thumbprint);
        Assert.True(loaded.Certificate.HasPrivateKey);
    }

    [Fact]
    public void Server_certificate_names_loopback_localhost_and_the_host_and_is_issued_by_the_ca()
    {
        using CertificateAuthority ca = CertificateAuthority.Init(_dir.Data, ["broker.home.arpa"]);
        using X509Certificate2 server = ca.LoadServerCertificate();
        Assert.True(server.HasPrivateKey);
        var san = Assert.Single(server.Extensions.OfType<X509SubjectAlternativeNameExtension>());
        string[] dns = [.. san.EnumerateDnsNames()];
        IPAddress[] ips = [.. san.EnumerateIPAddresses()];
        Assert.Contains("localhost", dns);
        Assert.Contains("broker.home.arpa", dns);
        Assert.Contains(Dns.GetHostName(), dns);
        Assert.Contains(IPAddress.Loopback, ips);
        Assert.Contains(IPAddress.IPv6Loopback, ips);
        Assert.True(CertificateAuthority.ChainsTo(server, ca.Certificate, CertificateAuthority.ServerAuthOid, DateTimeOffset.UtcNow, out string problem), problem);
        Assert.False(CertificateAuthority.IsCertificateAuthority(server));
    }

    [Fact]
    public void Client_certificate_carries_the_identity_as_cn_and_client_auth_and_validates_against_our_ca_only()
    {
        using CertificateAuthority ca = CertificateAuthority.Init(_dir.Data);
        using X509Certificate2 client = ca.IssueClientCertificate("kitchen-sensor", IdentityKind.Sensor);
        Assert.Equal("kitchen-sensor", CertificateAuthority.CommonNameOf(client));
        var eku = Assert.Single(client.Extensions.OfType<X509EnhancedKeyUsageExtension>());
        Assert.Equal(CertificateAuthority.ClientAuthOid, Assert.Single(eku.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>()).Value);

        RemoteCertificateValidationCallback validator = ca.CreateBrokerTlsSettings().ClientCertificateValidator;
        // The TLS layer reports chain errors for a root the system does not know; the validator decides on its own.
        Assert.True(validator(this, client, null, SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.False(validator(this, null, null, SslPolicyErrors.RemoteCertificateNotAvailable));

        // The server certificate is not a client certificate (no clientAuth EKU).
        using X509Certificate2 server = ca.LoadServerCertificate();
        Assert.False(validator(this, server, null, SslPolicyErrors.None));
    }

    [Fact]
    public void A_certificate_from_a_foreign_ca_is_refused_even_with_the_same_subject()
    {
        using CertificateAuthority ours = CertificateAuthority.Init(_dir.Data);
        using CertificateAuthority foreign = CertificateAuthority.Init(_dir.Sub("foreign"), commonName: ours.Certificate.GetNameInfo(X509NameType.SimpleName, false));
        using X509Certificate2 forged = foreign.IssueClientCertificate("kitchen-sensor", IdentityKind.Sensor);

        RemoteCertificateValidationCallback validator = ours.CreateBrokerTlsSettings().ClientCertificateValidator;
        Assert.False(validator(this, forged, null, SslPolicyErrors.None));
        Assert.False(CertificateAuthority.ChainsTo(forged, ours.Certificate, CertificateAuthority.ClientAuthOid, DateTimeOffset.UtcNow, out string problem));
        Assert.NotEmpty(problem);
        // A self-signed "CA" certificate presented as a client certificate is refused too.
        Assert.False(validator(this, foreign.Certificate, null, SslPolicyErrors.None));
    }

    [Fact]
    public void An_expired_client_certificate_is_refused_by_the_validator()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using CertificateAuthority ca = CertificateAuthority.Init(_dir.Data, clock: clock);
        using X509Certificate2 client = ca.IssueClientCertificate("short-lived", IdentityKind.Sensor, TimeSpan.FromDays(1));
        RemoteCertificateValidationCallback validator = CertificateAuthority.CreateClientValidator(CertificateAuthority.LoadRoot(ca.CertificatePath), clock);
        Assert.True(validator(this, client, null, SslPolicyErrors.None));
        clock.Advance(TimeSpan.FromDays(2));
        Assert.False(validator(this, client, null, SslPolicyErrors.None));
    }

    [Fact]
    public void Crl_lists_the_given_serials_and_is_signed_by_the_ca()
    {
        using CertificateAuthority ca = CertificateAuthority.Init(_dir.Data);
        using X509Certificate2 client = ca.IssueClientCertificate("gone", IdentityKind.Sensor);
        string pem = MosquittoConfig.CreateCrl(ca, [CertificateAuthority.SerialOf(client)]);
        Assert.StartsWith("-----BEGIN X509 CRL-----", pem);
        var builder = System.Security.Cryptography.X509Certificates.CertificateRevocationListBuilder.LoadPem(pem, out _);
        Assert.True(builder.RemoveEntry(Convert.FromHexString(CertificateAuthority.SerialOf(client))));
    }
}
