namespace Alicia.Engine.Security.Gateway;

internal enum AclAction
{
    Publish,
    Subscribe,
}

/// <summary>One grant: an action on a topic filter, with the name of the rule that granted it (for logs).</summary>
internal readonly record struct AclGrant(AclAction Action, string Filter, string Rule);

/// <summary>The result of an authorization check.</summary>
internal readonly record struct AclDecision(bool Allowed, string Rule)
{
    public static AclDecision Deny(string why) => new(false, why);
}

/// <summary>
/// Who may publish and subscribe where, derived from an identity's kind, roles and registration. The
/// same grants drive the embedded broker's checks and the generated Mosquitto ACL file, so the two
/// brokers enforce one policy.
/// </summary>
internal static class AclPolicy
{
    /// <summary>Roles a service can hold, and what each grants (publish; subscribe).</summary>
    public static readonly IReadOnlyDictionary<string, (string[] Publish, string[] Subscribe)> Roles =
        new Dictionary<string, (string[], string[])>(StringComparer.Ordinal)
        {
            ["stt"] = (["alicia/voice/stt/response"], ["alicia/voice/stt/request", "alicia/devices/+/audio"]),
            // A voice client (satellite, `alicia voice send`): asks for sessions, hears how they went. Its session
            // response (with the audio token) arrives on its own private topic, which every identity may read.
            // It also reports the wake words it hears and reads the arbiter's decision (open the session, or stand down).
            ["voice"] = (["alicia/voice/session/request", "alicia/voice/wake/detection"], ["alicia/voice/session/status", "alicia/voice/vad/segment", "alicia/voice/stt/response", "alicia/voice/wake/decision"]),
            ["ai"] = (["alicia/voice/ai/response", "alicia/voice/command/route"], ["alicia/voice/ai/request", "alicia/voice/stt/response"]),
            ["tts"] = (["alicia/voice/tts/response", "alicia/devices/speakers/announce"], ["alicia/voice/tts/request"]),
            ["router"] = (["alicia/devices/+/command", "alicia/devices/speakers/announce"], ["alicia/voice/command/route", "alicia/system/discovery/capabilities"]),
            // An Alicia service that integrates with HA over the bus (signed HaCommand/HaState); HA's own MQTT integration
            // connects with the homeassistant role below instead.
            ["ha"] = (["alicia/integration/ha/#", "homeassistant/#"], ["alicia/integration/ha/#", "alicia/devices/+/status", "alicia/system/discovery/capabilities", "homeassistant/status"]),
            ["api"] = (["alicia/integration/api/request"], ["alicia/integration/api/response"]),
            ["persistence"] = ([], ["alicia/integration/data/persist", "alicia/integration/analytics/event"]),
            ["monitor"] = ([], ["alicia/#"]),
            ["simulator"] = (["alicia/devices/#", "alicia/system/discovery/#", "alicia/system/health/heartbeat"], ["alicia/devices/#", "alicia/system/#"]),
            // Home Assistant's own MQTT integration (not an Alicia client: it neither signs nor registers). Exactly what
            // it does with the bridge's topics (HomeAssistantOptions defaults): reads the discovery configs (HA subscribes
            // to these two patterns), availability and state; writes commands and its birth/will on homeassistant/status.
            [HomeAssistant] = (["homeassistant/status", "alicia-ha/+/+/set"],
                ["homeassistant/+/+/config", "homeassistant/+/+/+/config", "homeassistant/status", "alicia-ha/+/availability", "alicia-ha/+/+/state"]),
            // The engine runs the Home Assistant bridge: discovery, availability and state out, commands in.
            ["engine"] = (["alicia/#", "homeassistant/#", "alicia-ha/#"], ["alicia/#", "homeassistant/#", "alicia-ha/#"]),
            ["admin"] = (["alicia/#", "homeassistant/#", "alicia-ha/#"], ["alicia/#", "homeassistant/#", "alicia-ha/#", "$SYS/#"]),
        };

    /// <summary>The role of Home Assistant's MQTT integration (<c>alicia device provision homeassistant --type service --role homeassistant</c>).</summary>
    public const string HomeAssistant = "homeassistant";

    /// <summary>
    /// Roles of clients that do not speak Alicia (no signed envelopes, no registration, no heartbeats): an identity
    /// holding only such roles gets their grants and nothing of the <c>alicia/</c> tree.
    /// </summary>
    public static readonly IReadOnlySet<string> ForeignClientRoles = new HashSet<string>(StringComparer.Ordinal) { HomeAssistant };

    /// <summary>True for an identity that holds only <see cref="ForeignClientRoles"/>.</summary>
    public static bool IsForeignClient(IdentityRecord identity) =>
        identity.Kind == IdentityKind.Service && identity.Roles.Count > 0 && identity.Roles.All(ForeignClientRoles.Contains);

    /// <summary>
    /// Topics <c>{prefix}{identity}</c> that carry secrets for one identity (the voice session response with its
    /// one-time audio token). Only that identity and the engine may subscribe to them, and, since an MQTT filter
    /// such as <c>alicia/#</c> cannot exclude a subtree, the broker refuses to deliver them to anyone else
    /// (<see cref="MayReceive"/>); the Mosquitto ACL says the same with <c>pattern read {prefix}%u</c> and a deny
    /// for anonymous readers.
    /// </summary>
    public static readonly IReadOnlyList<string> PrivateTopicPrefixes = ["alicia/voice/session/response/"];

    /// <summary>
    /// May a client of identity <paramref name="receiver"/> (null: anonymous or unknown) receive a message on
    /// <paramref name="topic"/>? False only for another identity's private topic; the engine is asked for separately.
    /// </summary>
    public static bool MayReceive(string topic, string? receiver)
    {
        foreach (string prefix in PrivateTopicPrefixes)
        {
            if (!topic.StartsWith(prefix, StringComparison.Ordinal)) continue;
            ReadOnlySpan<char> owner = topic.AsSpan(prefix.Length);
            return receiver is not null && owner.SequenceEqual(receiver);
        }
        return true;
    }

    /// <summary>Every grant of <paramref name="identity"/>, with concrete topics.</summary>
    public static IReadOnlyList<AclGrant> GrantsFor(IdentityRecord identity)
    {
        var grants = new List<AclGrant>();
        string id = identity.Id;
        if (IsForeignClient(identity))
        {
            AddRoleGrants(grants, identity);
            return grants;
        }
        // Everyone may announce itself and beat; everyone may read the shared directory and API answers.
        grants.Add(new(AclAction.Publish, "alicia/system/discovery/register", "discovery"));
        grants.Add(new(AclAction.Publish, "alicia/system/discovery/unregister", "discovery"));
        grants.Add(new(AclAction.Publish, "alicia/system/health/heartbeat", "heartbeat"));
        grants.Add(new(AclAction.Subscribe, "alicia/system/discovery/capabilities", "discovery"));
        grants.Add(new(AclAction.Subscribe, $"alicia/system/discovery/register/{id}/result", "own-registration-result"));
        grants.Add(new(AclAction.Subscribe, "alicia/integration/api/response", "api-response"));
        // Private answers (a voice session's one-time token): each identity reads its own, nobody else's.
        foreach (string prefix in PrivateTopicPrefixes) grants.Add(new(AclAction.Subscribe, prefix + id, "own-private-response"));

        if (identity.Kind != IdentityKind.Service)
        {
            grants.Add(new(AclAction.Publish, $"alicia/devices/{id}/#", "own-subtree"));
            grants.Add(new(AclAction.Subscribe, $"alicia/devices/{id}/command", "own-commands"));
            grants.Add(new(AclAction.Subscribe, $"alicia/devices/{id}/config", "own-config"));
            if (identity.Kind == IdentityKind.Sensor) grants.Add(new(AclAction.Publish, "alicia/devices/sensors/telemetry", "sensor-telemetry"));
            if (identity.Kind == IdentityKind.Speaker) grants.Add(new(AclAction.Subscribe, "alicia/devices/speakers/announce", "speaker-announce"));
            if (identity.Kind == IdentityKind.Controller) grants.Add(new(AclAction.Publish, "alicia/integration/api/request", "controller-api"));
        }
        AddRoleGrants(grants, identity);
        foreach (string t in identity.ExtraSubscriptions) grants.Add(new(AclAction.Subscribe, t, "capability"));
        return grants;
    }

    private static void AddRoleGrants(List<AclGrant> grants, IdentityRecord identity)
    {
        foreach (string role in identity.Roles)
        {
            if (!Roles.TryGetValue(role, out var grant)) continue;
            foreach (string t in grant.Publish) grants.Add(new(AclAction.Publish, t, "role:" + role));
            foreach (string t in grant.Subscribe) grants.Add(new(AclAction.Subscribe, t, "role:" + role));
        }
    }

    /// <summary>
    /// May <paramref name="identity"/> read <paramref name="topic"/> (a concrete topic): a subscribe grant or one of its
    /// registered capabilities' input topics covers it, and it is not another identity's private topic?
    /// </summary>
    public static bool MayRead(IdentityRecord identity, string topic, IReadOnlyList<string>? capabilityTopics = null)
    {
        if (!MayReceive(topic, identity.Id)) return false;
        if (Authorize(GrantsFor(identity), AclAction.Subscribe, topic).Allowed) return true;
        return capabilityTopics is { Count: > 0 }
            && Authorize([.. capabilityTopics.Select(t => new AclGrant(AclAction.Subscribe, t, "capability"))], AclAction.Subscribe, topic).Allowed;
    }

    /// <summary>May <paramref name="identity"/> publish to <paramref name="topic"/> (a concrete topic)?</summary>
    public static AclDecision AuthorizePublish(IdentityRecord identity, string topic) =>
        Authorize(GrantsFor(identity), AclAction.Publish, topic);

    public static AclDecision Authorize(IReadOnlyList<AclGrant> grants, AclAction action, string topicOrFilter)
    {
        if (!TopicRules.IsSafe(topicOrFilter, allowWildcards: action == AclAction.Subscribe, out string? problem))
            return AclDecision.Deny(problem!);
        foreach (AclGrant g in grants)
        {
            if (g.Action == action && Covers(g.Filter, topicOrFilter)) return new AclDecision(true, g.Rule);
        }
        return AclDecision.Deny($"no {(action == AclAction.Publish ? "publish" : "subscribe")} grant covers '{topicOrFilter}'");
    }

    /// <summary>
    /// True when every topic matched by <paramref name="requested"/> is also matched by <paramref name="granted"/>:
    /// <c>#</c> in the grant covers the rest; <c>+</c> covers one level (including a requested <c>+</c>).
    /// </summary>
    public static bool Covers(string granted, string requested)
    {
        ReadOnlySpan<char> g = granted, r = requested;
        while (true)
        {
            int gs = g.IndexOf('/'), rs = r.IndexOf('/');
            ReadOnlySpan<char> gSeg = gs < 0 ? g : g[..gs];
            ReadOnlySpan<char> rSeg = rs < 0 ? r : r[..rs];
            if (gSeg is "#") return true;
            if (rSeg is "#") return false;
            if (gSeg is not "+" && (rSeg is "+" || !gSeg.SequenceEqual(rSeg))) return false;
            if (gs < 0 && rs < 0) return true;
            if (rs < 0) return g[(gs + 1)..] is "#"; // "a/#" also matches "a"
            if (gs < 0) return false;
            g = g[(gs + 1)..];
            r = r[(rs + 1)..];
        }
    }

}
