namespace Alicia.Engine.Security;

/// <summary>Why the bus refused a message. Each reason is logged, counted and (with the gateway) audited.</summary>
public enum RejectReason
{
    None = 0,

    /// <summary>Not a valid envelope: bad MessagePack/JSON, missing fields, wrong types.</summary>
    Malformed,

    /// <summary>The envelope carries no signature.</summary>
    Unsigned,

    /// <summary>The signature does not match the source's key, the topic or the content.</summary>
    BadSignature,

    /// <summary>The source has no key in the trust store.</summary>
    UnknownSource,

    /// <summary>The message_id was already seen inside the replay window.</summary>
    Replayed,

    /// <summary>The timestamp is outside the allowed clock skew.</summary>
    Stale,

    /// <summary>The message is larger than the configured maximum.</summary>
    Oversize,

    /// <summary>The topic matches no message type of the topic tree.</summary>
    UnknownTopic,

    /// <summary>A sensitive topic (end-to-end encryption required) carried a clear payload.</summary>
    Unencrypted,
}

internal static class RejectReasonNames
{
    public static string ToName(this RejectReason reason) => reason switch
    {
        RejectReason.None => "none",
        RejectReason.Malformed => "malformed",
        RejectReason.Unsigned => "unsigned",
        RejectReason.BadSignature => "bad_signature",
        RejectReason.UnknownSource => "unknown_source",
        RejectReason.Replayed => "replayed",
        RejectReason.Stale => "stale",
        RejectReason.Oversize => "oversize",
        RejectReason.UnknownTopic => "unknown_topic",
        RejectReason.Unencrypted => "unencrypted",
        _ => "unknown",
    };
}
