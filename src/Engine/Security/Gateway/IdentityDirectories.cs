using System.Security.Cryptography.X509Certificates;

namespace Alicia.Engine.Security.Gateway;

/// <summary>Several identity directories as one: the first that knows an identity answers.</summary>
internal sealed class IdentityDirectories(params IIdentityDirectory[] directories) : IIdentityDirectory
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
