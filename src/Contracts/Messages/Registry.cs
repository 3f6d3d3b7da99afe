namespace Alicia.Contracts.Messages;

/// <summary>
/// The registry's answer to a registration or unregistration, on the device's own result topic (so a
/// device, even one that only speaks plain JSON, learns why it was refused: the field at fault and why).
/// </summary>
[AliciaMessage("alicia/system/discovery/register/{device_id}/result", Kind = MessageKind.Response)]
public sealed partial class RegistrationResult
{
    public string DeviceId { get; set; } = "";
    public bool Accepted { get; set; }

    /// <summary>The wire name of the field at fault (<c>device_id</c>, <c>capabilities.capabilities[3].name</c>), empty when accepted.</summary>
    public string Field { get; set; } = "";

    public string Reason { get; set; } = "";

    /// <summary>The message id of the registration this answers (empty for plain JSON registrations).</summary>
    public string RequestId { get; set; } = "";

    /// <summary>registered | updated | unchanged | unregistered | refused.</summary>
    public string Outcome { get; set; } = "";
}

/// <summary>Sent by the registry after it (or the broker) restarts: every device registers and announces its birth again.</summary>
[AliciaMessage("alicia/system/discovery/reannounce", Kind = MessageKind.Command)]
public sealed partial class DiscoveryReannounce
{
    public string Reason { get; set; } = "";
}

/// <summary>What the registry knows about one device.</summary>
[AliciaContract]
public sealed partial class DeviceSummary
{
    public string DeviceId { get; set; } = "";
    public string DeviceType { get; set; } = "";
    public string Location { get; set; } = "";

    /// <summary>The identity that registered it (<c>plain:</c> prefix for unsigned JSON registrations).</summary>
    public string Owner { get; set; } = "";

    public DeviceState State { get; set; }
    public long BirthSequence { get; set; }
    public DateTimeOffset RegisteredAt { get; set; }
    public DateTimeOffset LastSeen { get; set; }
    public int HeartbeatIntervalMs { get; set; }
    public List<string> Capabilities { get; set; } = [];

    /// <summary>The full registration (filled by <c>show</c>, left empty by <c>list</c>).</summary>
    public DeviceRegistration Registration { get; set; } = new();
}

/// <summary>The registry's request/response API: <c>list</c>, <c>show</c>, <c>remove</c>, <c>lookup</c>.</summary>
[AliciaMessage("alicia/system/registry/request", Kind = MessageKind.Request)]
public sealed partial class RegistryRequest
{
    public string Operation { get; set; } = "";
    public string DeviceId { get; set; } = "";

    /// <summary>Filters for <c>list</c> and <c>lookup</c> (empty: any).</summary>
    public string Capability { get; set; } = "";
    public string Location { get; set; } = "";
}

[AliciaMessage("alicia/system/registry/response", Kind = MessageKind.Response)]
public sealed partial class RegistryResponse
{
    /// <summary>HTTP-like: 200, 400, 403, 404.</summary>
    public int Status { get; set; }
    public string Error { get; set; } = "";
    public List<DeviceSummary> Devices { get; set; } = [];
}

/// <summary>What a capability-routed command may fall back to when no device in the place can take it.</summary>
public enum RouteFallback
{
    /// <summary>Answer with a clear error.</summary>
    None,

    /// <summary>Any live device with the capability, in another place.</summary>
    AnyLocation,
}

/// <summary>A command addressed by capability and place instead of device ("light in living_room").</summary>
[AliciaMessage("alicia/system/routing/command", Kind = MessageKind.Request)]
public sealed partial class CapabilityCommand
{
    public string Capability { get; set; } = "";

    /// <summary>The place; empty: anywhere.</summary>
    public string Location { get; set; } = "";

    public string Command { get; set; } = "";
    public Dictionary<string, string> Parameters { get; set; } = [];
    public RouteFallback Fallback { get; set; }

    /// <summary>Every live device that matches (all lights in the room) instead of one.</summary>
    public bool All { get; set; }
}

[AliciaMessage("alicia/system/routing/result", Kind = MessageKind.Response)]
public sealed partial class RoutingResult
{
    /// <summary>200 routed, 404 no device has the capability, 429 all at their limits, 503 none alive.</summary>
    public int Status { get; set; }
    public List<string> DeviceIds { get; set; } = [];

    /// <summary>The place the command went to (differs from the asked one after a fallback).</summary>
    public string Location { get; set; } = "";

    /// <summary>none | another_device | any_location.</summary>
    public string FallbackUsed { get; set; } = "";
    public string Reason { get; set; } = "";
}
