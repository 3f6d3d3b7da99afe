using NSec.Cryptography;

namespace Alicia.Engine.Security;

/// <summary>
/// The key directory: <c>{name}.key</c> (raw Ed25519 private key, base64, mode 0600) and
/// <c>{name}.pub</c> (raw public key, base64). Public keys found here form the engine's trust store.
/// </summary>
public sealed class KeyDirectory(string path)
{
    public const string PrivateSuffix = ".key";
    public const string PublicSuffix = ".pub";

    public string Path { get; } = System.IO.Path.GetFullPath(path);

    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;

    public string PrivateKeyPath(string name) => System.IO.Path.Combine(Path, name + PrivateSuffix);
    public string PublicKeyPath(string name) => System.IO.Path.Combine(Path, name + PublicSuffix);

    public bool Exists(string name) => File.Exists(PrivateKeyPath(name));

    /// <summary>Creates a new key pair; refuses to overwrite an existing one.</summary>
    public SigningIdentity Create(string name)
    {
        IdentityNames.Validate(name);
        EnsureDirectory();
        if (File.Exists(PrivateKeyPath(name))) throw new InvalidOperationException($"a key named '{name}' already exists in {Path}");
        var identity = SigningIdentity.Create(name);
        WriteSecret(PrivateKeyPath(name), Convert.ToBase64String(identity.Key.Export(KeyBlobFormat.RawPrivateKey)));
        File.WriteAllText(PublicKeyPath(name), identity.PublicKeyBase64 + "\n");
        return identity;
    }

    /// <summary>Loads an identity, creating it first when <paramref name="createIfMissing"/> is set.</summary>
    public SigningIdentity Load(string name, bool createIfMissing = false)
    {
        IdentityNames.Validate(name);
        string file = PrivateKeyPath(name);
        if (!File.Exists(file))
        {
            if (createIfMissing) return Create(name);
            throw new FileNotFoundException($"no key named '{name}' in {Path} (create one with: alicia keys new {name})", file);
        }
        byte[] raw = DecodeBase64(File.ReadAllText(file), file);
        var key = Key.Import(Ed25519, raw, KeyBlobFormat.RawPrivateKey, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.None });
        return new SigningIdentity(name, key);
    }

    /// <summary>Every public key in the directory, by name.</summary>
    public IEnumerable<(string Name, PublicKey Key)> PublicKeys()
    {
        if (!Directory.Exists(Path)) yield break;
        foreach (string file in Directory.EnumerateFiles(Path, "*" + PublicSuffix))
        {
            if (file.EndsWith(AgreementPublicSuffix, StringComparison.Ordinal)) continue; // X25519, not a signing key
            string name = System.IO.Path.GetFileNameWithoutExtension(file);
            if (!IdentityNames.IsValid(name)) continue;
            if (TryReadPublicKey(name, out PublicKey? key)) yield return (name, key!);
        }
    }

    public bool TryReadPublicKey(string name, out PublicKey? key)
    {
        key = null;
        if (!IdentityNames.IsValid(name) || name.EndsWith(".x25519", StringComparison.Ordinal)) return false;
        string file = PublicKeyPath(name);
        if (!File.Exists(file)) return false;
        byte[] raw = DecodeBase64(File.ReadAllText(file), file);
        key = PublicKey.Import(Ed25519, raw, KeyBlobFormat.RawPublicKey);
        return true;
    }

    internal const string AgreementPrivateSuffix = ".x25519";
    internal const string AgreementPublicSuffix = ".x25519.pub";

    /// <summary>The identity's X25519 key for end-to-end payload encryption, created (0600) when missing.</summary>
    internal Key LoadAgreementKey(string name, bool createIfMissing = true)
    {
        IdentityNames.Validate(name);
        string file = System.IO.Path.Combine(Path, name + AgreementPrivateSuffix);
        if (!File.Exists(file))
        {
            if (!createIfMissing) throw new FileNotFoundException($"no X25519 key for '{name}' in {Path}", file);
            EnsureDirectory();
            using Key created = Key.Create(KeyAgreementAlgorithm.X25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
            WriteSecret(file, Convert.ToBase64String(created.Export(KeyBlobFormat.RawPrivateKey)));
            File.WriteAllText(System.IO.Path.Combine(Path, name + AgreementPublicSuffix), Convert.ToBase64String(created.PublicKey.Export(KeyBlobFormat.RawPublicKey)) + "\n");
        }
        return Key.Import(KeyAgreementAlgorithm.X25519, DecodeBase64(File.ReadAllText(file), file), KeyBlobFormat.RawPrivateKey,
            new KeyCreationParameters { ExportPolicy = KeyExportPolicies.None });
    }

    /// <summary>A recipient's X25519 public key, or null when it has none here.</summary>
    internal PublicKey? TryReadAgreementKey(string name)
    {
        if (!IdentityNames.IsValid(name)) return null;
        string file = System.IO.Path.Combine(Path, name + AgreementPublicSuffix);
        if (!File.Exists(file)) return null;
        return PublicKey.Import(KeyAgreementAlgorithm.X25519, DecodeBase64(File.ReadAllText(file), file), KeyBlobFormat.RawPublicKey);
    }

    internal static PublicKey ParsePublicKey(string base64) =>
        PublicKey.Import(Ed25519, DecodeBase64(base64, "public key"), KeyBlobFormat.RawPublicKey);

    private static byte[] DecodeBase64(string text, string what)
    {
        try
        {
            byte[] raw = Convert.FromBase64String(text.Trim());
            if (raw.Length != 32) throw new FormatException($"{what}: expected 32 bytes, found {raw.Length}");
            return raw;
        }
        catch (FormatException e) when (e.Message.StartsWith(what, StringComparison.Ordinal) is false)
        {
            throw new FormatException($"{what}: not a base64 Ed25519 key ({e.Message})", e);
        }
    }

    private void EnsureDirectory()
    {
        if (Directory.Exists(Path)) return;
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(Path);
        else Directory.CreateDirectory(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private static void WriteSecret(string file, string content)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var stream = new FileStream(file, options);
        using var writer = new StreamWriter(stream);
        writer.Write(content);
        writer.Write('\n');
    }
}
