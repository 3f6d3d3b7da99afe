using NSec.Cryptography;

namespace Alicia.Engine.Security.Identity;

/// <summary>
/// Keeps a running engine's <see cref="TrustStore"/> in step with the <see cref="IdentityStore"/>: a revoked
/// identity's signing key stops being trusted at once (the trust store caches keys, so deleting the
/// <c>.pub</c> file alone is not enough), and a renewed identity's new key is trusted at once.
/// </summary>
internal sealed class IdentityTrustSync : IDisposable
{
    private readonly IdentityStore _store;
    private readonly TrustStore _trust;

    public IdentityTrustSync(IdentityStore store, TrustStore trust)
    {
        _store = store;
        _trust = trust;
        _store.Changed += OnChanged;
    }

    private void OnChanged(string id)
    {
        IdentityEntry? entry = _store.Find(id);
        if (entry is null) return;
        if (entry.Status == IdentityStatus.Revoked)
        {
            _trust.Revoke(id);
            return;
        }
        try
        {
            PublicKey current = KeyDirectory.ParsePublicKey(entry.PublicKey);
            if (entry.PreviousPublicKey is { } previous && entry.PreviousKeyValidUntil is { } until && DateTimeOffset.UtcNow < until)
                _trust.Trust(id, current, KeyDirectory.ParsePublicKey(previous), until);
            else _trust.Trust(id, current);
        }
        catch (FormatException)
        {
            _trust.Revoke(id);
        }
    }

    /// <summary>The public keys an identity's messages may be signed with now: the current one, and during a renewal overlap the previous one.</summary>
    public static IReadOnlyList<PublicKey> SigningKeys(IdentityEntry entry, DateTimeOffset now)
    {
        if (entry.Status != IdentityStatus.Active) return [];
        var keys = new List<PublicKey> { KeyDirectory.ParsePublicKey(entry.PublicKey) };
        if (entry.PreviousPublicKey is { } previous && entry.PreviousKeyValidUntil is { } until && now < until)
            keys.Add(KeyDirectory.ParsePublicKey(previous));
        return keys;
    }

    public void Dispose() => _store.Changed -= OnChanged;
}
