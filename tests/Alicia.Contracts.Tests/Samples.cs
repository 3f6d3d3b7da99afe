using System.Buffers;
using System.Collections;
using System.Reflection;
using System.Text.Json;
using Alicia.Contracts.Serialization;

namespace Alicia.Contracts.Tests;

/// <summary>Test-only helpers: populated instances of any contract type (by reflection) and a deep comparison.</summary>
internal static class Samples
{
    public static readonly Type[] ContractTypes = typeof(IMessageVisitor).Assembly.GetTypes()
        .Where(t => t.GetCustomAttribute<AliciaContractAttribute>() is not null || t.GetCustomAttribute<AliciaMessageAttribute>() is not null)
        .OrderBy(t => t.FullName, StringComparer.Ordinal)
        .ToArray();

    public static IEnumerable<object[]> ContractTypeNames => ContractTypes.Select(t => new object[] { t.Name });

    public static Type ByName(string name) => ContractTypes.Single(t => t.Name == name);

    public static readonly DateTimeOffset Instant = new DateTimeOffset(2025, 3, 14, 15, 9, 26, 535, TimeSpan.Zero).AddTicks(8979);

    /// <summary>An instance with every serialized property set to a non-default value.</summary>
    public static object Populate(Type type, int depth = 0)
    {
        object instance = Activator.CreateInstance(type)!;
        int i = 0;
        foreach (PropertyInfo p in SerializedProperties(type))
            p.SetValue(instance, Value(p.PropertyType, p.Name + (i++), depth + 1));
        return instance;
    }

    public static IEnumerable<PropertyInfo> SerializedProperties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanRead && p.SetMethod is { IsPublic: true } && p.GetCustomAttribute<WireIgnoreAttribute>() is null);

    private static object Value(Type type, string seed, int depth)
    {
        int h = Math.Abs(seed.GetHashCode(StringComparison.Ordinal) % 1000) + 1;
        if (Nullable.GetUnderlyingType(type) is { } inner) return Value(inner, seed, depth);
        if (type == typeof(bool)) return true;
        if (type == typeof(byte)) return (byte)(h % 250 + 1);
        if (type == typeof(int)) return -h * 1000;
        if (type == typeof(long)) return (long)h << 36;
        if (type == typeof(double)) return h + 0.125;
        if (type == typeof(float)) return h + 0.5f;
        if (type == typeof(string)) return $"{seed}-ünïcode-{h}";
        if (type == typeof(Guid)) return new Guid(h, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
        if (type == typeof(DateTimeOffset)) return Instant.AddSeconds(h);
        if (type == typeof(DateTime)) return Instant.UtcDateTime.AddSeconds(h);
        if (type == typeof(TimeSpan)) return TimeSpan.FromTicks(h * 12345L);
        if (type == typeof(byte[])) return Enumerable.Range(0, h % 40 + 1).Select(x => (byte)(x * 7)).ToArray();
        if (type.IsEnum) return Enum.GetValues(type).Cast<object>().Last();
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
        {
            var list = (IList)Activator.CreateInstance(type)!;
            for (int k = 0; k < 2; k++) list.Add(Value(type.GetGenericArguments()[0], seed + k, depth + 1));
            return list;
        }
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        {
            var map = (IDictionary)Activator.CreateInstance(type)!;
            for (int k = 0; k < 2; k++) map.Add($"key_{k}", Value(type.GetGenericArguments()[1], seed + k, depth + 1));
            return map;
        }
        if (ContractTypes.Contains(type)) return Populate(type, depth);
        throw new NotSupportedException($"no sample for {type}");
    }

    /// <summary>Compares two values structurally; returns the path of the first difference, or null.</summary>
    public static string? Difference(object? a, object? b, string path = "")
    {
        if (a is null || b is null) return a is null && b is null ? null : $"{path}: {a ?? "null"} vs {b ?? "null"}";
        Type type = a.GetType();
        if (type != b.GetType()) return $"{path}: type {type} vs {b.GetType()}";
        if (a is byte[] ba) return ba.AsSpan().SequenceEqual((byte[])b) ? null : $"{path}: bytes differ";
        if (a is string || type.IsPrimitive || type.IsEnum || a is Guid or DateTimeOffset or DateTime or TimeSpan)
            return a.Equals(b) ? null : $"{path}: {a} vs {b}";
        if (a is IDictionary da)
        {
            var db = (IDictionary)b;
            if (da.Count != db.Count) return $"{path}: {da.Count} entries vs {db.Count}";
            foreach (DictionaryEntry e in da)
            {
                if (!db.Contains(e.Key)) return $"{path}[{e.Key}]: missing";
                if (Difference(e.Value, db[e.Key], $"{path}[{e.Key}]") is { } d) return d;
            }
            return null;
        }
        if (a is IList la)
        {
            var lb = (IList)b;
            if (la.Count != lb.Count) return $"{path}: {la.Count} items vs {lb.Count}";
            for (int k = 0; k < la.Count; k++)
                if (Difference(la[k], lb[k], $"{path}[{k}]") is { } d) return d;
            return null;
        }
        foreach (PropertyInfo p in SerializedProperties(type))
            if (Difference(p.GetValue(a), p.GetValue(b), $"{path}.{p.Name}") is { } d) return d;
        return null;
    }

    public static byte[] ToMsgPack<T>(T value) where T : IAliciaSerializable<T>
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MsgPackWriter(buffer);
        T.Write(ref writer, value);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public static T FromMsgPack<T>(ReadOnlySpan<byte> bytes, Utf8StringCache? strings = null) where T : IAliciaSerializable<T>
    {
        var reader = new MsgPackReader(bytes, strings);
        T value = T.Read(ref reader);
        if (!reader.End) throw new MsgPackException("trailing bytes");
        return value;
    }

    public static string ToJson<T>(T value) where T : IAliciaSerializable<T>
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer)) T.WriteJson(writer, value);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static T FromJson<T>(string json) where T : IAliciaSerializable<T>
    {
        var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(json));
        reader.Read();
        T value = T.ReadJson(ref reader);
        if (reader.TokenType != JsonTokenType.EndObject) throw new InvalidOperationException("reader not left on EndObject");
        if (reader.Read()) throw new InvalidOperationException("reader did not consume the whole object");
        return value;
    }

    /// <summary>Writes MessagePack by hand (for malformed and foreign inputs).</summary>
    public static byte[] Build(WriteAction action)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MsgPackWriter(buffer);
        action(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public delegate void WriteAction(ref MsgPackWriter writer);
}
