namespace Alicia.Engine.Security.Gateway;

/// <summary>What kind of participant an identity is; it decides the identity's ACL.</summary>
internal enum IdentityKind
{
    Speaker,
    Sensor,
    Actuator,
    Controller,
    Service,
}

/// <summary>A known participant of the bus: a provisioned device or service.</summary>
/// <param name="Id">The identity: certificate subject, MQTT client id / username, envelope source.</param>
/// <param name="Kind">Device type or service.</param>
/// <param name="Roles">For services, the roles granted (e.g. <c>stt</c>, <c>tts</c>, <c>ai</c>, <c>ha</c>, <c>engine</c>, <c>admin</c>).</param>
/// <param name="ExtraSubscriptions">Topics a device's registered capabilities name (input endpoints).</param>
internal sealed record IdentityRecord(string Id, IdentityKind Kind, IReadOnlyList<string> Roles, IReadOnlyList<string> ExtraSubscriptions)
{
    public IdentityRecord(string id, IdentityKind kind, params string[] roles) : this(id, kind, roles, []) { }

    public static bool TryParseKind(string text, out IdentityKind kind)
    {
        switch (text)
        {
            case "speaker": kind = IdentityKind.Speaker; return true;
            case "sensor": kind = IdentityKind.Sensor; return true;
            case "actuator": kind = IdentityKind.Actuator; return true;
            case "controller": kind = IdentityKind.Controller; return true;
            case "service": kind = IdentityKind.Service; return true;
            default: kind = default; return false;
        }
    }

    public static string KindName(IdentityKind kind) => kind switch
    {
        IdentityKind.Speaker => "speaker",
        IdentityKind.Sensor => "sensor",
        IdentityKind.Actuator => "actuator",
        IdentityKind.Controller => "controller",
        _ => "service",
    };
}
