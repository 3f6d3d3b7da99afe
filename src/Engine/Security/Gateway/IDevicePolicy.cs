namespace Alicia.Engine.Security.Gateway;

/// <summary>
/// What a device's registration decides about what the gateway allows it: its rate limit (capability
/// constraint <c>rate_limit</c>) and the input topics its capabilities name. The registry provides it;
/// the gateway asks it when present.
/// </summary>
internal interface IDevicePolicy
{
    /// <summary>The identity's registered rate limit; null: the gateway's default.</summary>
    RateLimit? RateLimitOf(string identity);

    /// <summary>Whether the registrations have been read (before, <see cref="RateLimitOf"/> answers null for everyone).</summary>
    bool IsLoaded { get; }

    /// <summary>The input topics the identity's registered capabilities name (it may subscribe to them).</summary>
    IReadOnlyList<string> CapabilityTopicsOf(string identity);
}
