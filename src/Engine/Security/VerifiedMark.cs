using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using MQTTnet.Packets;
using NSec.Cryptography;

namespace Alicia.Engine.Security;

/// <summary>
/// The security gateway's word to the engine's own subscribers that it has verified a publish: an MQTT 5 user property
/// (<see cref="PropertyName"/>) whose value is a keyed BLAKE2b MAC (16 bytes, hex) of the topic and payload under a
/// per-process random key (libsodium: about a third of HMAC-SHA256's cost per call through OpenSSL, and every
/// delivered message costs two, one at the gateway and one at the engine's subscriber). The gateway strips the property from every inbound publish before anything else, so only it
/// sets one; and since the value is bound to the exact topic and payload under a key that never leaves the process, a
/// client could not forge one even if stripping failed (a mark copied from a delivered message fits only those very
/// bytes, which the gateway already verified). With an external broker there is no gateway and no key: nothing counts
/// as marked and subscribers verify everything.
/// </summary>
internal sealed class VerifiedMark
{
    public const string PropertyName = "alicia-verified";

    /// <summary>Bytes of the MAC (128 bits), and the hex characters that carry them.</summary>
    private const int MacBytes = 16;
    public const int ValueLength = MacBytes * 2;

    private static readonly MacAlgorithm Algorithm = MacAlgorithm.Blake2b_128;

    // A random 256-bit key that never leaves the process (not exportable); safe to use from any thread.
    private readonly Key _key = Key.Create(Algorithm);

    /// <summary>The mark of <paramref name="payload"/> on <paramref name="topic"/>, as the property's value (lower-case hex, ASCII).</summary>
    public byte[] Create(string topic, ReadOnlySpan<byte> payload)
    {
        var value = new byte[ValueLength];
        Compute(topic, payload, value);
        return value;
    }

    /// <summary>True when <paramref name="value"/> is this process's mark of exactly this topic and payload.</summary>
    public bool IsValid(ReadOnlySpan<char> topic, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> value)
    {
        if (value.Length != ValueLength) return false;
        Span<byte> expected = stackalloc byte[ValueLength];
        Compute(topic, payload, expected);
        return CryptographicOperations.FixedTimeEquals(expected, value);
    }

    private void Compute(ReadOnlySpan<char> topic, ReadOnlySpan<byte> payload, Span<byte> hex)
    {
        // topic (UTF-8), a zero byte (never in a topic), payload: one contiguous input, from the pool.
        int topicBytes = Encoding.UTF8.GetMaxByteCount(topic.Length);
        byte[] input = ArrayPool<byte>.Shared.Rent(topicBytes + 1 + payload.Length);
        try
        {
            int n = Encoding.UTF8.GetBytes(topic, input);
            input[n++] = 0;
            payload.CopyTo(input.AsSpan(n));
            Span<byte> mac = stackalloc byte[MacBytes];
            Algorithm.Mac(_key, input.AsSpan(0, n + payload.Length), mac);
            for (int i = 0; i < MacBytes; i++)
            {
                hex[2 * i] = (byte)"0123456789abcdef"[mac[i] >> 4];
                hex[2 * i + 1] = (byte)"0123456789abcdef"[mac[i] & 0xF];
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
        }
    }

    /// <summary>The first mark among <paramref name="properties"/>, or empty.</summary>
    public static ReadOnlySpan<byte> Find(List<MqttUserProperty>? properties)
    {
        if (properties is null) return default;
        foreach (MqttUserProperty p in properties)
        {
            if (string.Equals(p.Name, PropertyName, StringComparison.Ordinal)) return p.ValueBuffer.Span;
        }
        return default;
    }

    /// <summary>Removes every mark from <paramref name="properties"/>; returns how many there were (a client that sends one is forging).</summary>
    public static int Strip(List<MqttUserProperty>? properties) =>
        properties is null || properties.Count == 0 ? 0 : properties.RemoveAll(static p => string.Equals(p.Name, PropertyName, StringComparison.OrdinalIgnoreCase));
}
