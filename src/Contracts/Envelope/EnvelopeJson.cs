using System.Buffers;
using System.Text.Json;

namespace Alicia.Contracts;

/// <summary>
/// The JSON form of the envelope (MQTT content type <c>application/json</c>), for debugging and for
/// constrained devices. Same field names as the MessagePack form; the signature is base64 and covers
/// the canonical MessagePack encoding, so a JSON message verifies exactly like its MessagePack twin.
/// </summary>
public static class EnvelopeJson
{
    public const string ContentType = "application/json";

    public static void Write<T>(IBufferWriter<byte> output, in Envelope<T> envelope, ReadOnlySpan<byte> signature)
        where T : IAliciaSerializable<T>
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("message_id"u8, envelope.Header.MessageId);
        writer.WriteString("timestamp"u8, envelope.Header.Timestamp);
        writer.WriteString("source"u8, envelope.Header.Source);
        writer.WriteString("destination"u8, envelope.Header.Destination);
        writer.WriteString("message_type"u8, MessageKindNames.ToUtf8(envelope.Header.Kind));
        writer.WritePropertyName("payload"u8);
        writer.WriteStartObject();
        if (envelope.Encryption is not null) writer.WriteBase64String("data"u8, envelope.SealedData.Span);
        else
        {
            writer.WritePropertyName("data"u8);
            T.WriteJson(writer, envelope.Data);
        }
        if (envelope.Metadata is { Count: > 0 } metadata)
        {
            writer.WritePropertyName("metadata"u8);
            writer.WriteStartObject();
            foreach (KeyValuePair<string, string> kv in metadata) writer.WriteString(kv.Key, kv.Value);
            writer.WriteEndObject();
        }
        writer.WriteEndObject();
        writer.WritePropertyName("security"u8);
        writer.WriteStartObject();
        writer.WritePropertyName("encryption"u8);
        if (envelope.Encryption is { } enc) EncryptionInfo.WriteJson(writer, enc);
        else writer.WriteNullValue();
        if (envelope.AttestedBy is { } attester) writer.WriteString("attested_by"u8, attester);
        if (envelope.Sequence > 0) writer.WriteNumber("sequence"u8, envelope.Sequence);
        if (signature.IsEmpty) writer.WriteNull("signature"u8);
        else writer.WriteBase64String("signature"u8, signature);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    public static Envelope<T> Read<T>(ReadOnlySpan<byte> json, out byte[]? signature)
        where T : IAliciaSerializable<T>
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 32 });
        signature = null;
        Guid? id = null;
        DateTimeOffset? timestamp = null;
        string? source = null, destination = null;
        MessageKind? kind = null;
        bool hasData = false;
        T data = default!;
        Dictionary<string, string>? metadata = null;
        EncryptionInfo? encryption = null;
        string? attestedBy = null;
        long sequence = 0;
        byte[]? sealedData = null;

        Expect(ref reader, JsonTokenType.StartObject, "envelope");
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            string name = reader.GetString()!;
            Next(ref reader);
            switch (name)
            {
                case "message_id": id = reader.GetGuid(); break;
                case "timestamp": timestamp = reader.GetDateTimeOffset(); break;
                case "source": source = reader.GetString(); break;
                case "destination": destination = reader.GetString(); break;
                case "message_type": kind = MessageKindNames.Parse(reader.GetString() ?? ""); break;
                case "payload":
                    Require(ref reader, JsonTokenType.StartObject, "payload");
                    while (Next(ref reader) == JsonTokenType.PropertyName)
                    {
                        string p = reader.GetString()!;
                        Next(ref reader);
                        if (p == "data" && reader.TokenType == JsonTokenType.String) { sealedData = reader.GetBytesFromBase64(); hasData = true; }
                        else if (p == "data") { data = T.ReadJson(ref reader); hasData = true; }
                        else if (p == "metadata" && reader.TokenType == JsonTokenType.StartObject) metadata = ReadStringMap(ref reader);
                        else reader.Skip();
                    }
                    break;
                case "security":
                    Require(ref reader, JsonTokenType.StartObject, "security");
                    while (Next(ref reader) == JsonTokenType.PropertyName)
                    {
                        string s = reader.GetString()!;
                        Next(ref reader);
                        if (s == "signature") signature = reader.TokenType == JsonTokenType.Null ? null : reader.GetBytesFromBase64();
                        else if (s == "encryption") encryption = reader.TokenType == JsonTokenType.Null ? null : EncryptionInfo.ReadJson(ref reader);
                        else if (s == "attested_by") attestedBy = reader.TokenType == JsonTokenType.Null ? null : reader.GetString();
                        else if (s == "sequence") sequence = reader.TokenType == JsonTokenType.Null ? 0 : reader.GetInt64();
                        else reader.Skip();
                    }
                    break;
                default: reader.Skip(); break;
            }
        }

        if (id is null) throw Missing("message_id");
        if (timestamp is null) throw Missing("timestamp");
        if (source is null) throw Missing("source");
        if (destination is null) throw Missing("destination");
        if (kind is null) throw Missing("message_type");
        if (!hasData) throw Missing("payload.data");
        if ((sealedData is null) != (encryption is null)) throw new JsonException("payload.data must be base64 ciphertext exactly when security.encryption is set");
        return new Envelope<T>(new EnvelopeHeader(id.Value, timestamp.Value, source, destination, kind.Value), data, metadata, encryption, attestedBy: attestedBy, sequence: sequence, sealedData: sealedData);
    }

    private static JsonException Missing(string field) => new($"envelope field '{field}' is missing");

    private static JsonTokenType Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read()) throw new JsonException("truncated JSON envelope");
        return reader.TokenType;
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string what)
    {
        Next(ref reader);
        Require(ref reader, type, what);
    }

    private static void Require(ref Utf8JsonReader reader, JsonTokenType type, string what)
    {
        if (reader.TokenType != type) throw new JsonException($"'{what}' must be a JSON {type}, found {reader.TokenType}");
    }

    private static Dictionary<string, string> ReadStringMap(ref Utf8JsonReader reader)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            string key = reader.GetString()!;
            Next(ref reader);
            map[key] = reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw new JsonException($"metadata '{key}' must be a string");
        }
        return map;
    }
}
