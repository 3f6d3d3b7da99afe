using System.Collections.Concurrent;
using NSec.Cryptography;

namespace Alicia.Engine.Security;

/// <summary>
/// The public keys the engine trusts, by source name. Seeded from the key directory; a name that is not
/// known yet is looked up in the directory once (so <c>alicia keys new</c> on a running engine works),
/// then remembered as unknown for a while so a flood of forged sources costs no disk I/O.
/// </summary>
public sealed class TrustStore
{
    private readonly ConcurrentDictionary<string, PublicKey> _keys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _unknownUntil = new(StringComparer.Ordinal);
    private readonly KeyDirectory? _directory;
    private readonly TimeProvider _clock;
    private static readonly TimeSpan NegativeCacheTime = TimeSpan.FromSeconds(5);
    private const int MaxNegativeEntries = 10_000;

    private readonly ConcurrentDictionary<string, PublicKey>.AlternateLookup<ReadOnlySpan<char>> _keysBySpan;

    public TrustStore(KeyDirectory? directory = null, TimeProvider? clock = null)
    {
        _keysBySpan = _keys.GetAlternateLookup<ReadOnlySpan<char>>();
        _directory = directory;
        _clock = clock ?? TimeProvider.System;
        if (directory is null) return;
        foreach ((string name, PublicKey key) in directory.PublicKeys()) _keys[name] = key;
    }

    public int Count => _keys.Count;

    private readonly ConcurrentDictionary<string, (PublicKey Key, DateTimeOffset Until)> _previous = new(StringComparer.Ordinal);

    public void Trust(string name, PublicKey key)
    {
        IdentityNames.Validate(name);
        _keys[name] = key;
        _previous.TryRemove(name, out _);
        _unknownUntil.TryRemove(name, out _);
    }

    /// <summary>
    /// Trusts <paramref name="key"/> for <paramref name="name"/> and keeps accepting <paramref name="previous"/>
    /// until <paramref name="previousUntil"/>: a renewal's overlap window, so messages signed just before
    /// a device switched keys still verify.
    /// </summary>
    internal void Trust(string name, PublicKey key, PublicKey previous, DateTimeOffset previousUntil)
    {
        Trust(name, key);
        _previous[name] = (previous, previousUntil);
    }

    /// <summary>The key a renewed identity used before, while its overlap window lasts.</summary>
    internal bool TryGetPrevious(string name, out PublicKey key)
    {
        key = null!;
        if (!_previous.TryGetValue(name, out var entry)) return false;
        if (_clock.GetUtcNow() >= entry.Until)
        {
            _previous.TryRemove(name, out _);
            return false;
        }
        key = entry.Key;
        return true;
    }

    public bool Revoke(string name)
    {
        _previous.TryRemove(name, out _);
        return _keys.TryRemove(name, out _);
    }

    /// <summary>
    /// The key of <paramref name="source"/> given as characters (a verifier's view into a message not yet trusted):
    /// a known name is found without allocating; only an unknown one is looked up as a string.
    /// </summary>
    internal bool TryGet(ReadOnlySpan<char> source, out PublicKey key)
    {
        if (_keysBySpan.TryGetValue(source, out key!)) return true;
        if (_directory is null || !IdentityNames.IsValid(source)) return false;
        return TryGet(source.ToString(), out key);
    }

    public bool TryGet(string source, out PublicKey key)
    {
        if (_keys.TryGetValue(source, out key!)) return true;
        if (_directory is null) return false;

        long now = _clock.GetTimestamp();
        if (_unknownUntil.TryGetValue(source, out long until) && now < until) return false;
        try
        {
            if (_directory.TryReadPublicKey(source, out PublicKey? found))
            {
                _keys[source] = found!;
                key = found!;
                return true;
            }
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            // An unreadable key file is the same as no key; the rejection is logged by the caller.
        }
        if (_unknownUntil.Count >= MaxNegativeEntries) _unknownUntil.Clear();
        _unknownUntil[source] = now + (long)(NegativeCacheTime.TotalSeconds * _clock.TimestampFrequency);
        return false;
    }
}
