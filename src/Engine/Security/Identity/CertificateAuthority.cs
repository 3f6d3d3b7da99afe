using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Alicia.Engine.Bus;
using Alicia.Engine.Security.Gateway;

namespace Alicia.Engine.Security.Identity;

/// <summary>
/// The local certificate authority of one Alicia installation: an ECDSA P-256 root that issues the
/// broker's server certificate and one client certificate per device or service (subject CN = the
/// identity id, EKU clientAuth). Files live in <c>{DataDirectory}/ca/</c>: <c>ca.pem</c>, <c>ca.key</c>
/// (0600), <c>server.pem</c>, <c>server.key</c> (0600). Built on .NET's own X509 APIs (AOT-safe).
/// </summary>
internal sealed class CertificateAuthority : IDisposable
{
    public const string DirectoryName = "ca";
    public const string CertificateFile = "ca.pem";
    public const string KeyFile = "ca.key";
    public const string ServerCertificateFile = "server.pem";
    public const string ServerKeyFile = "server.key";

    public const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";
    public const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    public static readonly TimeSpan CaValidity = TimeSpan.FromDays(3650);
    public static readonly TimeSpan ServerValidity = TimeSpan.FromDays(825);
    public static readonly TimeSpan DefaultClientValidity = TimeSpan.FromDays(365);

    /// <summary>Issued certificates start this long before "now", so a device with a slightly late clock accepts them.</summary>
    private static readonly TimeSpan Backdate = TimeSpan.FromMinutes(5);

    private readonly TimeProvider _clock;

    private CertificateAuthority(string directory, X509Certificate2 certificate, TimeProvider clock)
    {
        Directory = directory;
        Certificate = certificate;
        _clock = clock;
    }

    /// <summary>The CA directory (<c>{DataDirectory}/ca</c>).</summary>
    public string Directory { get; }

    /// <summary>The root certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    public string CertificatePath => Path.Combine(Directory, CertificateFile);
    public string KeyPath => Path.Combine(Directory, KeyFile);
    public string ServerCertificatePath => Path.Combine(Directory, ServerCertificateFile);
    public string ServerKeyPath => Path.Combine(Directory, ServerKeyFile);

    public static string DirectoryFor(string dataDirectory) => Path.Combine(Path.GetFullPath(dataDirectory), DirectoryName);

    public static bool Exists(string dataDirectory) => File.Exists(Path.Combine(DirectoryFor(dataDirectory), CertificateFile));

    /// <summary>
    /// Creates the CA and the broker's server certificate. Refuses to replace an existing CA unless
    /// <paramref name="force"/> (a new CA invalidates every issued certificate).
    /// </summary>
    /// <param name="hostNames">Extra DNS names / IP addresses for the server certificate (the machine's host name, 127.0.0.1, ::1 and localhost are always in it).</param>
    public static CertificateAuthority Init(string dataDirectory, IEnumerable<string>? hostNames = null, string? commonName = null,
        bool force = false, TimeProvider? clock = null)
    {
        clock ??= TimeProvider.System;
        string dir = DirectoryFor(dataDirectory);
        if (File.Exists(Path.Combine(dir, CertificateFile)) && !force)
            throw new InvalidOperationException($"a certificate authority already exists in {dir} (replacing it invalidates every issued certificate; use --force)");
        SecretFiles.EnsurePrivateDirectory(dir);

        DateTimeOffset now = clock.GetUtcNow();
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedName($"CN={commonName ?? "Alicia Local CA " + Environment.MachineName}, O=Alicia");
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        X509Certificate2 root = request.CreateSelfSigned(now - Backdate, now + CaValidity); // carries its private key

        SecretFiles.WriteSecret(Path.Combine(dir, KeyFile), key.ExportPkcs8PrivateKeyPem());
        SecretFiles.WritePublic(Path.Combine(dir, CertificateFile), root.ExportCertificatePem());

        var ca = new CertificateAuthority(dir, root, clock);
        ca.IssueServerCertificate(hostNames ?? []);
        return ca;
    }

    /// <summary>Loads the CA of <paramref name="dataDirectory"/>; says how to create one when there is none.</summary>
    public static CertificateAuthority Load(string dataDirectory, TimeProvider? clock = null)
    {
        string dir = DirectoryFor(dataDirectory);
        string certFile = Path.Combine(dir, CertificateFile), keyFile = Path.Combine(dir, KeyFile);
        if (!File.Exists(certFile) || !File.Exists(keyFile))
            throw new FileNotFoundException($"no certificate authority in {dir} (create one with: alicia ca init)", certFile);
        var certificate = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        return new CertificateAuthority(dir, certificate, clock ?? TimeProvider.System);
    }

    /// <summary>The root certificate only (no private key), from a PEM file: what the broker and clients trust.</summary>
    public static X509Certificate2 LoadRoot(string pemFile) => X509CertificateLoader.LoadCertificate(ReadPemCertificate(pemFile));

    /// <summary>
    /// Issues (and saves) the broker's server certificate: SAN 127.0.0.1, ::1, localhost, the host name
    /// and <paramref name="extraNames"/>; EKU serverAuth.
    /// </summary>
    public X509Certificate2 IssueServerCertificate(IEnumerable<string> extraNames)
    {
        var names = new SortedSet<string>(StringComparer.OrdinalIgnoreCase) { "localhost", "127.0.0.1", "::1" };
        string host = Dns.GetHostName();
        if (!string.IsNullOrWhiteSpace(host)) names.Add(host);
        foreach (string n in extraNames) if (!string.IsNullOrWhiteSpace(n)) names.Add(n.Trim());

        var san = new SubjectAlternativeNameBuilder();
        foreach (string n in names)
        {
            if (IPAddress.TryParse(n, out IPAddress? ip)) san.AddIpAddress(ip);
            else san.AddDnsName(n);
        }
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={(string.IsNullOrWhiteSpace(host) ? "localhost" : host)}, O=Alicia broker"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuthOid)], false));
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));

        DateTimeOffset now = _clock.GetUtcNow();
        DateTimeOffset notAfter = Min(now + ServerValidity, Certificate.NotAfter.ToUniversalTime());
        using X509Certificate2 issued = request.Create(Certificate, now - Backdate, notAfter, NewSerial());
        SecretFiles.WriteSecret(ServerKeyPath, key.ExportPkcs8PrivateKeyPem(), overwrite: true);
        SecretFiles.WritePublic(ServerCertificatePath, issued.ExportCertificatePem());
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>The broker's server certificate with its private key (issued by <see cref="Init"/>).</summary>
    public X509Certificate2 LoadServerCertificate()
    {
        if (!File.Exists(ServerCertificatePath) || !File.Exists(ServerKeyPath))
            throw new FileNotFoundException($"no server certificate in {Directory} (run: alicia ca init)", ServerCertificatePath);
        return X509Certificate2.CreateFromPemFile(ServerCertificatePath, ServerKeyPath);
    }

    /// <summary>
    /// Issues a client certificate for identity <paramref name="id"/>: subject <c>CN={id}, OU={kind}</c>,
    /// EKU clientAuth, a random 128-bit serial. Returned with its (fresh, ECDSA P-256) private key.
    /// </summary>
    public X509Certificate2 IssueClientCertificate(string id, IdentityKind kind, TimeSpan? validity = null)
    {
        IdentityNames.Validate(id);
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var name = new X500DistinguishedNameBuilder();
        name.AddOrganizationName("Alicia");
        name.AddOrganizationalUnitName(IdentityRecord.KindName(kind));
        name.AddCommonName(id);
        var request = new CertificateRequest(name.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ClientAuthOid)], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));

        DateTimeOffset now = _clock.GetUtcNow();
        DateTimeOffset notAfter = Min(now + (validity ?? DefaultClientValidity), Certificate.NotAfter.ToUniversalTime());
        using X509Certificate2 issued = request.Create(Certificate, now - Backdate, notAfter, NewSerial());
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>
    /// The TLS settings of the embedded broker's encrypted listener: the server certificate, and a client
    /// certificate validator that trusts this CA only (see <see cref="CreateClientValidator"/>).
    /// </summary>
    public BrokerTlsSettings CreateBrokerTlsSettings() => new()
    {
        ServerCertificate = LoadServerCertificate(),
        ClientCertificateValidator = CreateClientValidator(RootOnly(Certificate), _clock),
    };

    /// <summary>
    /// The broker's TLS settings from the files of <paramref name="dataDirectory"/>: <c>server.pem</c>/<c>server.key</c>
    /// and the root <c>ca.pem</c>. The CA's private key is not read (a running broker has no use for it).
    /// </summary>
    public static BrokerTlsSettings LoadBrokerTlsSettings(string dataDirectory, TimeProvider? clock = null)
    {
        string dir = DirectoryFor(dataDirectory);
        string caFile = Path.Combine(dir, CertificateFile), certFile = Path.Combine(dir, ServerCertificateFile), keyFile = Path.Combine(dir, ServerKeyFile);
        foreach (string f in new[] { caFile, certFile, keyFile })
        {
            if (!File.Exists(f)) throw new FileNotFoundException($"Broker:TlsPort is set but {f} is missing (create the CA and the broker certificate with: alicia ca init)", f);
        }
        return new BrokerTlsSettings
        {
            ServerCertificate = X509Certificate2.CreateFromPemFile(certFile, keyFile),
            ClientCertificateValidator = CreateClientValidator(LoadRoot(caFile), clock),
        };
    }

    /// <summary>
    /// A TLS callback that accepts a client certificate only when it chains to <paramref name="root"/>
    /// (custom root trust: no system roots, no intermediates), is within its validity period at the
    /// clock's time, and carries the clientAuth EKU. No certificate at all is refused.
    /// </summary>
    public static RemoteCertificateValidationCallback CreateClientValidator(X509Certificate2 root, TimeProvider? clock = null)
    {
        clock ??= TimeProvider.System;
        return (_, certificate, _, _) => certificate is not null && ChainsTo(certificate, root, ClientAuthOid, clock.GetUtcNow(), out _);
    }

    /// <summary>
    /// A TLS callback for clients: accepts the server certificate only when it chains to
    /// <paramref name="root"/>, carries serverAuth and matches the host name.
    /// </summary>
    public static RemoteCertificateValidationCallback CreateServerValidator(X509Certificate2 root, TimeProvider? clock = null) => ServerTrust.Callback(root, clock);

    /// <summary>Builds the chain of <paramref name="certificate"/> against <paramref name="root"/> alone.</summary>
    public static bool ChainsTo(X509Certificate certificate, X509Certificate2 root, string? requiredEku, DateTimeOffset at, out string problem)
    {
        using X509Certificate2 leaf = certificate as X509Certificate2 is { } c2 ? X509CertificateLoader.LoadCertificate(c2.RawData) : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck; // revocation is the identity store's job
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = at.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        if (requiredEku is not null) chain.ChainPolicy.ApplicationPolicy.Add(new Oid(requiredEku));
        try
        {
            if (!chain.Build(leaf))
            {
                problem = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
                if (problem.Length == 0) problem = "certificate chain does not validate";
                return false;
            }
            X509Certificate2 top = chain.ChainElements[^1].Certificate;
            if (!top.RawDataMemory.Span.SequenceEqual(root.RawDataMemory.Span))
            {
                problem = "certificate is not issued by this CA";
                return false;
            }
            problem = "";
            return true;
        }
        finally
        {
            foreach (X509ChainElement e in chain.ChainElements) if (!ReferenceEquals(e.Certificate, root)) e.Certificate.Dispose();
        }
    }

    /// <summary>The serial number of <paramref name="certificate"/> as uppercase hex (no separators).</summary>
    public static string SerialOf(X509Certificate2 certificate) => certificate.SerialNumber.ToUpperInvariant();

    /// <summary>The SHA-256 thumbprint as uppercase hex: how the identity store finds a certificate.</summary>
    public static string ThumbprintOf(X509Certificate certificate) =>
        Convert.ToHexString(SHA256.HashData(certificate is X509Certificate2 c2 ? c2.RawDataMemory.Span : certificate.GetRawCertData()));

    /// <summary>The subject common name (the identity id) of a client certificate, or null.</summary>
    public static string? CommonNameOf(X509Certificate2 certificate)
    {
        string cn = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        return string.IsNullOrEmpty(cn) ? null : cn;
    }

    /// <summary>The private key of <paramref name="certificate"/> as PKCS#8 PEM.</summary>
    public static string ExportPrivateKeyPem(X509Certificate2 certificate)
    {
        using ECDsa key = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("the certificate has no ECDSA private key");
        return key.ExportPkcs8PrivateKeyPem();
    }

    public void Dispose() => Certificate.Dispose();

    private static X509Certificate2 RootOnly(X509Certificate2 certificate) => X509CertificateLoader.LoadCertificate(certificate.RawData);

    private static byte[] ReadPemCertificate(string pemFile)
    {
        string text = File.ReadAllText(pemFile);
        PemFields fields = PemEncoding.Find(text);
        if (!text.AsSpan(fields.Label).SequenceEqual("CERTIFICATE")) throw new CryptographicException($"{pemFile}: not a PEM certificate");
        return Convert.FromBase64String(text[fields.Base64Data]);
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static byte[] NewSerial()
    {
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // positive
        serial[0] |= 0x01; // and 16 bytes long
        return serial;
    }

    /// <summary>Checks a certificate's basic constraints (for tests and <c>alicia ca show</c>).</summary>
    public static bool IsCertificateAuthority(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is { CertificateAuthority: true };
}
