using System.Buffers;
using System.Text.Json;

namespace Alicia.Engine.Security.Gateway;

/// <summary>
/// The two plain-JSON messages (not envelopes) the registry accepts from devices that cannot sign, let
/// through the gateway only for the connection's own id: a registration on
/// <c>alicia/system/discovery/register</c> whose <c>device_id</c> is the identity, and a status (last
/// will: <c>{"state":"offline","birth_sequence":N}</c>) on a status topic <c>alicia/devices/{id}/status</c>
/// the identity may publish to (its own; the simulator's, those of its devices).
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
        // A status topic the ACL (checked before) lets this identity publish to: its own, or, for the
        // simulator's role, those of the devices it runs (their wills are composed at connect time and
        // cannot be signed). The registry honours an unsigned status only as a death notice for the
        // device's current birth sequence.
        bool status = IsStatusTopic(topic);
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

    private static bool IsStatusTopic(string topic)
    {
        const string prefix = "alicia/devices/", suffix = "/status";
        if (!topic.StartsWith(prefix, StringComparison.Ordinal) || !topic.EndsWith(suffix, StringComparison.Ordinal)) return false;
        int length = topic.Length - prefix.Length - suffix.Length;
        return length > 0 && topic.AsSpan(prefix.Length, length).IndexOfAny('/', '+', '#') < 0;
    }
}
