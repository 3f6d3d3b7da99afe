using System.Text.Json;

namespace Alicia.Engine.Security;

/// <summary>
/// The fields of a JSON envelope a verifier checks before decoding its payload: message id, timestamp, source,
/// countersigner and whether a signature is present. The payload is stepped over (<see cref="Utf8JsonReader.Skip"/>),
/// not decoded; the signature's bytes are not read either (they are needed only once the cheap checks pass).
/// </summary>
internal readonly record struct JsonSigningHeader(Guid MessageId, DateTimeOffset Timestamp, string Source, string? AttestedBy, bool IsSigned)
{
    /// <summary>Reads the header; throws <see cref="JsonException"/> (or <see cref="FormatException"/>) when it is broken or incomplete.</summary>
    public static JsonSigningHeader Read(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 32 });
        Guid? id = null;
        DateTimeOffset? timestamp = null;
        string? source = null, attestedBy = null;
        bool signed = false;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) throw new JsonException("a JSON envelope must be an object");
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("message_id"u8)) { Next(ref reader); id = reader.GetGuid(); }
            else if (reader.ValueTextEquals("timestamp"u8)) { Next(ref reader); timestamp = reader.GetDateTimeOffset(); }
            else if (reader.ValueTextEquals("source"u8)) { Next(ref reader); source = reader.GetString(); }
            else if (reader.ValueTextEquals("security"u8))
            {
                if (Next(ref reader) != JsonTokenType.StartObject) throw new JsonException("'security' must be a JSON object");
                while (Next(ref reader) == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("attested_by"u8)) { Next(ref reader); attestedBy = reader.TokenType == JsonTokenType.Null ? null : reader.GetString(); }
                    else if (reader.ValueTextEquals("signature"u8)) { Next(ref reader); signed = reader.TokenType != JsonTokenType.Null; }
                    else { Next(ref reader); reader.Skip(); }
                }
            }
            else { Next(ref reader); reader.Skip(); } // the payload among them: stepped over, not decoded
        }
        if (id is null) throw new JsonException("envelope field 'message_id' is missing");
        if (timestamp is null) throw new JsonException("envelope field 'timestamp' is missing");
        if (source is null) throw new JsonException("envelope field 'source' is missing");
        return new JsonSigningHeader(id.Value, timestamp.Value, source, attestedBy, signed);
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read()) throw new JsonException("truncated JSON envelope");
        return reader.TokenType;
    }
}
