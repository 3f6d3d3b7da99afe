using NSec.Cryptography;

namespace Alicia.Engine.Security;

/// <summary>A named Ed25519 key pair: a service's or device's signing identity.</summary>
public sealed class SigningIdentity : IDisposable
{
    public SigningIdentity(string name, Key key)
    {
        IdentityNames.Validate(name);
        if (key.Algorithm != SignatureAlgorithm.Ed25519) throw new ArgumentException("an Ed25519 key is required", nameof(key));
        Name = name;
        Key = key;
    }

    public string Name { get; }
    public Key Key { get; }
    public PublicKey PublicKey => Key.PublicKey;

    /// <summary>A fresh identity whose private key may be exported (to be saved to the key directory).</summary>
    public static SigningIdentity Create(string name) =>
        new(name, Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    public string PublicKeyBase64 => Convert.ToBase64String(PublicKey.Export(KeyBlobFormat.RawPublicKey));

    public void Dispose() => Key.Dispose();
}

/// <summary>Rules for the names of services and devices (they become topic segments and file names).</summary>
internal static class IdentityNames
{
    public const int MaxLength = 64;

    public static bool IsValid(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > MaxLength) return false;
        if (name is "." or ".." || name.SequenceEqual(Alicia.Contracts.EnvelopeHeader.Broadcast)) return false;
        foreach (char c in name)
        {
            bool ok = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '_' or '.';
            if (!ok) return false;
        }
        return true;
    }

    public static void Validate(string name)
    {
        if (!IsValid(name))
            throw new ArgumentException($"'{name}' is not a valid identity name: use 1-{MaxLength} of a-z A-Z 0-9 - _ . (not '.', '..' or 'broadcast')", nameof(name));
    }
}
