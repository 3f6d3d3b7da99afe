using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Alicia.Engine.Security.Gateway;

/// <summary>
/// Identities with passwords held in memory: the engine's local tools, or services a host embedding the
/// engine configures itself. Passwords are compared in constant time. Provisioned identities with
/// certificates live in the SQLite <c>IdentityStore</c>; both serve the gateway through <see cref="IIdentityDirectory"/>.
/// </summary>
internal sealed class PasswordDirectory : IIdentityDirectory
{
    private readonly ConcurrentDictionary<string, (IdentityRecord Identity, byte[] Password)> _entries = new(StringComparer.Ordinal);

    public void Add(IdentityRecord identity, string password) => _entries[identity.Id] = (identity, Encoding.UTF8.GetBytes(password));

    /// <summary>Forgets an identity; its live connections are dropped by the gateway.</summary>
    public bool Remove(string id)
    {
        if (!_entries.TryRemove(id, out _)) return false;
        Changed?.Invoke(id);
        return true;
    }

    public bool TryGet(string id, out IdentityRecord identity)
    {
        bool found = _entries.TryGetValue(id, out var entry);
        identity = entry.Identity;
        return found;
    }

    public bool TryAuthenticate(X509Certificate2 certificate, out IdentityRecord identity, out string reason)
    {
        identity = null!;
        reason = "password identities have no certificates";
        return false;
    }

    public bool TryAuthenticate(string username, ReadOnlySpan<byte> password, out IdentityRecord identity, out string reason)
    {
        identity = null!;
        reason = $"unknown identity '{username}' or wrong password";
        if (!_entries.TryGetValue(username, out var entry) || !CryptographicOperations.FixedTimeEquals(password, entry.Password)) return false;
        identity = entry.Identity;
        return true;
    }

    public event Action<string>? Changed;
}
