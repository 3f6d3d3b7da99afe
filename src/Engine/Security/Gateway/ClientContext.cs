namespace Alicia.Engine.Security.Gateway;

/// <summary>What the gateway knows about one connected client; kept in the MQTT session's items.</summary>
internal sealed class ClientContext(IdentityRecord identity, AuthenticationMethod method, TokenBucket? bucket)
{
    public const string SessionKey = "alicia.gateway.client";

    public IdentityRecord Identity { get; } = identity;
    public AuthenticationMethod Method { get; } = method;
    public IReadOnlyList<AclGrant> Grants { get; } = method == AuthenticationMethod.Anonymous
        ? [new AclGrant(AclAction.Subscribe, "alicia/#", "anonymous-read-only")]
        : AclPolicy.GrantsFor(identity);
    public TokenBucket? Bucket { get; } = bucket;

    /// <summary>Refusals in a row for rate; past a threshold the client is disconnected (0x96).</summary>
    public int RateRefusalsInARow;

    public bool IsEngine => Method == AuthenticationMethod.InProcess;
}

internal enum AuthenticationMethod
{
    InProcess,
    Certificate,
    Password,
    Anonymous,
}
