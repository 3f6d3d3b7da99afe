using System.Buffers;
using System.Text.Json;

namespace Alicia.Engine.Security.Gateway;

/// <summary>
/// The two plain-JSON messages (not envelopes) the registry accepts from devices that cannot sign, let
/// through the gateway only for the connection's own id: a registration on
/// <c>alicia/system/discovery/register</c> whose <c>device_id</c> is the identity, and a status (last
/// will: <c>{"state":"offline","birth_sequence":N}</c>) on <c>alicia/devices/{identity}/status</c>.
/// </summary>
internal static class PlainJson
{
    /// <summary>
    /// True when the payload is plain JSON (not an envelope) on one of the two topics; then
    /// <paramref name="problem"/> is null when it is allowed, or says why not.
    /// </summary>
    public static bool IsAllowed(string topic, ReadOnlySequence<byte> payload, IdentityRecord identity, out string? problem)
    {
        problem = null;
        bool register = topic == "alicia/system/discovery/register";
        bool status = topic == $"alicia/devices/{identity.Id}/status";
        if (!register && !status) return false;
        string? deviceId = null;
        bool envelope = false;
        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 16 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("message_id"u8)) envelope = true;
                bool isId = reader.ValueTextEquals("device_id"u8);
                reader.Read();
                if (isId && reader.TokenType == JsonTokenType.String) deviceId = reader.GetString();
                else reader.Skip();
            }
        }
        catch (JsonException)
        {
            return false; // not JSON after all: ingress verification refuses it with the reason
        }
        if (envelope) return false; // an envelope: verified (or countersigned) like any other
        if (register && !string.Equals(deviceId, identity.Id, StringComparison.Ordinal))
            problem = $"'{identity.Id}' may only register itself, not '{deviceId}'";
        return true;
    }
}
