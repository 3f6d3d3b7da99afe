using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Alicia.Engine.Security.Identity;

namespace Alicia.Engine.Security.Gateway;

/// <summary>
/// Identities for the engine's own command-line tools on the same machine: <c>alicia-cli</c> (ping,
/// devices, voice: the local operator) and <c>alicia-simulator</c> (simulated devices). Each gets a
/// random password in <c>{DataDirectory}/local/{name}.password</c> (mode 0600): whoever can read the
/// engine's data directory may use them, over loopback only, like any password identity.
/// </summary>
public static class LocalTools
{
    public const string Cli = "alicia-cli";
    public const string Simulator = "alicia-simulator";

    /// <summary>The local tools' identities, with their passwords (created on first use).</summary>
    public static PasswordDirectory Directory(string dataDirectory)
    {
        var directory = new PasswordDirectory();
        directory.Add(new IdentityRecord(Cli, IdentityKind.Service, "admin"), EnsurePassword(dataDirectory, Cli));
        directory.Add(new IdentityRecord(Simulator, IdentityKind.Service, "simulator"), EnsurePassword(dataDirectory, Simulator));
        return directory;
    }

    public static string PasswordFile(string dataDirectory, string name) => Path.Combine(dataDirectory, "local", name + ".password");

    /// <summary>The tool's password, created on first use.</summary>
    public static string EnsurePassword(string dataDirectory, string name)
    {
        string file = PasswordFile(dataDirectory, name);
        if (File.Exists(file)) return File.ReadAllText(file).Trim();
        SecretFiles.EnsurePrivateDirectory(Path.GetDirectoryName(file)!);
        string password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
        try
        {
            SecretFiles.WriteSecret(file, password);
        }
        catch (IOException) when (File.Exists(file))
        {
            // Another process created it first: use theirs.
        }
        return File.ReadAllText(file).Trim();
    }

    /// <summary>The tool's password when this user can read it (the tools pass it to the broker).</summary>
    public static string? TryReadPassword(string dataDirectory, string name)
    {
        string file = PasswordFile(dataDirectory, name);
        try { return File.Exists(file) ? File.ReadAllText(file).Trim() : null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}

/// <summary>Several identity directories as one: the first that knows an identity answers.</summary>
public sealed class IdentityDirectories(params IIdentityDirectory[] directories) : IIdentityDirectory
{
    public bool TryGet(string id, out IdentityRecord identity)
    {
        foreach (IIdentityDirectory d in directories) if (d.TryGet(id, out identity)) return true;
        identity = null!;
        return false;
    }

    public bool TryAuthenticate(X509Certificate2 certificate, out IdentityRecord identity, out string reason)
    {
        reason = "no identity directory knows this certificate";
        foreach (IIdentityDirectory d in directories) if (d.TryAuthenticate(certificate, out identity, out reason)) return true;
        identity = null!;
        return false;
    }

    public bool TryAuthenticate(string username, ReadOnlySpan<byte> password, out IdentityRecord identity, out string reason)
    {
        reason = $"unknown identity '{username}' or wrong password";
        foreach (IIdentityDirectory d in directories)
        {
            if (!d.TryGet(username, out _)) continue;
            return d.TryAuthenticate(username, password, out identity, out reason);
        }
        identity = null!;
        return false;
    }

    public event Action<string>? Changed
    {
        add { foreach (IIdentityDirectory d in directories) d.Changed += value; }
        remove { foreach (IIdentityDirectory d in directories) d.Changed -= value; }
    }
}
