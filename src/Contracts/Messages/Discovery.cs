namespace Alicia.Contracts.Messages;

/// <summary>Where a device is and who made it.</summary>
[AliciaContract]
public sealed partial class DeviceMetadata
{
    public string Manufacturer { get; set; } = "";
    public string Model { get; set; } = "";
    public string Location { get; set; } = "";
    public string Version { get; set; } = "";
}

/// <summary>A device announcing itself: the auto-discovery payload and its capability schema.</summary>
[AliciaMessage("alicia/system/discovery/register", Kind = MessageKind.Request)]
public sealed partial class DeviceRegistration
{
    public string DeviceId { get; set; } = "";

    /// <summary>speaker | sensor | actuator | controller | service.</summary>
    public string DeviceType { get; set; } = "";

    public DeviceCapabilities Capabilities { get; set; } = new();

    /// <summary>Named endpoints (topics or URLs) the device serves.</summary>
    public Dictionary<string, string> Endpoints { get; set; } = [];

    public DeviceMetadata Metadata { get; set; } = new();
}

[AliciaMessage("alicia/system/discovery/unregister", Kind = MessageKind.Request)]
public sealed partial class DeviceUnregistration
{
    public string DeviceId { get; set; } = "";
    public string Reason { get; set; } = "";
}

/// <summary>The registry's view of a device's capabilities, announced (retained) after each change.</summary>
[AliciaMessage("alicia/system/discovery/capabilities", Kind = MessageKind.Event)]
public sealed partial class CapabilityAnnouncement
{
    public string DeviceId { get; set; } = "";
    public string DeviceType { get; set; } = "";
    public DeviceCapabilities Capabilities { get; set; } = new();
    public string Location { get; set; } = "";
    public bool Online { get; set; }
}
