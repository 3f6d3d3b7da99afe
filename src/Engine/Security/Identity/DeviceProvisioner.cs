using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Alicia.Engine.Security.Gateway;

namespace Alicia.Engine.Security.Identity;

/// <summary>What to provision.</summary>
internal sealed record ProvisionRequest(string Id, IdentityKind Kind)
{
    /// <summary>Service roles (see <see cref="AclPolicy.Roles"/>).</summary>
    public IReadOnlyList<string> Roles { get; init; } = [];

    /// <summary>A password for username/password authentication on loopback (services); stored as a PBKDF2 hash only.</summary>
    public string? Password { get; init; }

    /// <summary>Client certificate lifetime (default one year).</summary>
    public TimeSpan? Validity { get; init; }

    /// <summary>Where to write the bundle (default <c>{DataDirectory}/devices/{id}</c>).</summary>
    public string? BundleDirectory { get; init; }

    /// <summary>Broker URLs the device should use, written into <c>device.json</c>.</summary>
    public IReadOnlyList<string> BrokerUrls { get; init; } = [];
}

/// <summary>The outcome of provisioning or renewal.</summary>
internal sealed record ProvisionResult(IdentityEntry Identity, string BundleDirectory, string CertificateSerial, DateTimeOffset NotAfter, bool SigningKeyInBundle);

/// <summary>
/// Provisions, renews and revokes devices and services: issues the client certificate from the CA,
/// creates the Ed25519 signing key, records both in the <see cref="IdentityStore"/>, makes the engine
/// trust the public key (<c>{id}.pub</c> in the key directory, which the <see cref="TrustStore"/> reads),
/// and writes the bundle the device installs:
/// <c>ca.pem</c>, <c>cert.pem</c>, <c>key.pem</c> (0600), <c>{id}.key</c> (0600), <c>{id}.pub</c>, <c>device.json</c>.
/// The bundle directory doubles as the device's key directory (<c>new KeyDirectory(bundle).Load(id)</c>).
/// An identity that already has a key pair in the engine's key directory (a local service created with
/// <c>alicia keys new</c>, or the engine itself) keeps that signing key; only its certificate is issued.
/// </summary>
internal sealed class DeviceProvisioner(CertificateAuthority ca, IdentityStore store, KeyDirectory keys, string dataDirectory)
{
    public const string DeviceFile = "device.json";
    public const string CaFile = "ca.pem";
    public const string CertificateFile = "cert.pem";
    public const string PrivateKeyFile = "key.pem";

    public static string DefaultBundleDirectory(string dataDirectory, string id) =>
        Path.Combine(Path.GetFullPath(dataDirectory), "devices", id);

    public ProvisionResult Provision(ProvisionRequest request)
    {
        string id = request.Id;
        IdentityNames.Validate(id);
        foreach (string role in request.Roles)
        {
            if (!AclPolicy.Roles.ContainsKey(role))
                throw new ArgumentException($"unknown role '{role}' (known: {string.Join(", ", AclPolicy.Roles.Keys.Order(StringComparer.Ordinal))})");
        }
        if (request.Kind != IdentityKind.Service && request.Roles.Count > 0)
            throw new ArgumentException("roles are for services (--type service)");
        if (store.Find(id) is { Status: IdentityStatus.Active })
            throw new InvalidOperationException($"identity '{id}' is already provisioned (renew it with 'alicia device renew {id}', or revoke it first)");
        bool localKeyPair = keys.Exists(id);
        if (!localKeyPair && File.Exists(keys.PublicKeyPath(id)) && store.Find(id) is null)
            throw new InvalidOperationException($"a trusted public key named '{id}' already exists in {keys.Path} that this store did not provision; remove it or choose another id");

        string bundle = Path.GetFullPath(request.BundleDirectory ?? DefaultBundleDirectory(dataDirectory, id));
        using X509Certificate2 certificate = ca.IssueClientCertificate(id, request.Kind, request.Validity);
        using SigningIdentity? signing = localKeyPair ? null : SigningIdentity.Create(id);
        string publicKey = signing?.PublicKeyBase64 ?? LocalPublicKey(id);

        WriteBundle(bundle, id, request.Kind, request.Roles, certificate, signing, publicKey, request.BrokerUrls);
        IdentityEntry entry = store.Add(id, request.Kind, request.Roles, certificate, publicKey,
            request.Password is null ? null : PasswordHasher.Hash(request.Password));
        TrustPublicKey(id, publicKey);
        return new ProvisionResult(entry, bundle, CertificateAuthority.SerialOf(certificate), certificate.NotAfter.ToUniversalTime(), signing is not null);
    }

    /// <summary>
    /// Rotates the certificate and (unless it is a local key pair) the signing key. The previous
    /// certificate stays valid for <paramref name="overlap"/>; the bundle is rewritten in place.
    /// </summary>
    public ProvisionResult Renew(string id, TimeSpan overlap, string? bundleDirectory = null, IReadOnlyList<string>? brokerUrls = null, TimeSpan? validity = null)
    {
        IdentityEntry existing = store.Find(id) ?? throw new KeyNotFoundException($"no identity '{id}' (provision it first)");
        if (existing.Status != IdentityStatus.Active) throw new InvalidOperationException($"identity '{id}' is revoked; provision it again instead");
        string bundle = Path.GetFullPath(bundleDirectory ?? DefaultBundleDirectory(dataDirectory, id));
        bool localKeyPair = keys.Exists(id);
        using X509Certificate2 certificate = ca.IssueClientCertificate(id, existing.Kind, validity);
        using SigningIdentity? signing = localKeyPair ? null : SigningIdentity.Create(id);
        string publicKey = signing?.PublicKeyBase64 ?? LocalPublicKey(id);

        WriteBundle(bundle, id, existing.Kind, existing.Roles, certificate, signing, publicKey, brokerUrls ?? ReadBrokerUrls(bundle));
        IdentityEntry entry = store.Renew(id, certificate, publicKey, overlap);
        TrustPublicKey(id, publicKey);
        return new ProvisionResult(entry, bundle, CertificateAuthority.SerialOf(certificate), certificate.NotAfter.ToUniversalTime(), signing is not null);
    }

    /// <summary>Revokes <paramref name="id"/> and removes its public key from the key directory (unless it is a local key pair).</summary>
    public bool Revoke(string id, string? reason = null)
    {
        bool revoked = store.Revoke(id, reason);
        if (revoked && !keys.Exists(id))
        {
            string pub = keys.PublicKeyPath(id);
            if (File.Exists(pub)) File.Delete(pub);
        }
        return revoked;
    }

    private string LocalPublicKey(string id)
    {
        using SigningIdentity local = keys.Load(id);
        return local.PublicKeyBase64;
    }

    private void TrustPublicKey(string id, string publicKeyBase64)
    {
        if (keys.Exists(id)) return; // a local key pair: its .pub is already there
        SecretFiles.EnsurePrivateDirectory(keys.Path);
        SecretFiles.WritePublic(keys.PublicKeyPath(id), publicKeyBase64);
    }

    private void WriteBundle(string bundle, string id, IdentityKind kind, IReadOnlyList<string> roles, X509Certificate2 certificate,
        SigningIdentity? signing, string publicKey, IReadOnlyList<string> brokerUrls)
    {
        SecretFiles.EnsurePrivateDirectory(bundle);
        SecretFiles.WritePublic(Path.Combine(bundle, CaFile), ca.Certificate.ExportCertificatePem());
        SecretFiles.WritePublic(Path.Combine(bundle, CertificateFile), certificate.ExportCertificatePem());
        SecretFiles.WriteSecret(Path.Combine(bundle, PrivateKeyFile), CertificateAuthority.ExportPrivateKeyPem(certificate), overwrite: true);
        if (signing is not null)
        {
            SecretFiles.WriteSecret(Path.Combine(bundle, id + KeyDirectory.PrivateSuffix),
                Convert.ToBase64String(signing.Key.Export(NSec.Cryptography.KeyBlobFormat.RawPrivateKey)), overwrite: true);
        }
        else
        {
            string stale = Path.Combine(bundle, id + KeyDirectory.PrivateSuffix);
            if (File.Exists(stale)) File.Delete(stale);
        }
        SecretFiles.WritePublic(Path.Combine(bundle, id + KeyDirectory.PublicSuffix), publicKey);
        SecretFiles.WritePublic(Path.Combine(bundle, DeviceFile), DeviceJson(id, kind, roles, certificate, signing is not null, publicKey, brokerUrls));
    }

    /// <summary>The <c>device.json</c> of a bundle (Utf8JsonWriter: AOT-safe).</summary>
    public static string DeviceJson(string id, IdentityKind kind, IReadOnlyList<string> roles, X509Certificate2 certificate,
        bool signingKeyInBundle, string publicKey, IReadOnlyList<string> brokerUrls)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("type", IdentityRecord.KindName(kind));
            w.WriteStartArray("roles");
            foreach (string r in roles) w.WriteStringValue(r);
            w.WriteEndArray();
            w.WriteStartArray("brokers");
            foreach (string b in brokerUrls) w.WriteStringValue(b);
            w.WriteEndArray();
            w.WriteString("ca", CaFile);
            w.WriteString("certificate", CertificateFile);
            w.WriteString("private_key", PrivateKeyFile);
            if (signingKeyInBundle) w.WriteString("signing_key", id + KeyDirectory.PrivateSuffix);
            else w.WriteNull("signing_key"); // a local service: it signs with its key in the engine's key directory
            w.WriteString("signing_public_key", publicKey);
            w.WriteString("certificate_serial", CertificateAuthority.SerialOf(certificate));
            w.WriteString("certificate_not_after", new DateTimeOffset(certificate.NotAfter.ToUniversalTime()));
            IReadOnlyList<AclGrant> grants = AclPolicy.GrantsFor(new IdentityRecord(id, kind, roles, []));
            w.WriteStartArray("publish");
            foreach (AclGrant g in grants) if (g.Action == AclAction.Publish) w.WriteStringValue(g.Filter);
            w.WriteEndArray();
            w.WriteStartArray("subscribe");
            foreach (AclGrant g in grants) if (g.Action == AclAction.Subscribe) w.WriteStringValue(g.Filter);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static IReadOnlyList<string> ReadBrokerUrls(string bundle)
    {
        string file = Path.Combine(bundle, DeviceFile);
        if (!File.Exists(file)) return [];
        try
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(file));
            if (doc.RootElement.TryGetProperty("brokers", out JsonElement brokers) && brokers.ValueKind == JsonValueKind.Array)
                return [.. brokers.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!)];
        }
        catch (JsonException)
        {
        }
        return [];
    }
}
