namespace Alicia.Contracts.Messages;

/// <summary>One thing a device or service can do, self-described.</summary>
[AliciaContract]
public sealed partial class Capability
{
    /// <summary>e.g. <c>audio_playback</c>, <c>light</c>, <c>temperature</c>, <c>speech_to_text</c>.</summary>
    public string Name { get; set; } = "";

    public string Version { get; set; } = "1.0";

    public List<CapabilityParameter> Parameters { get; set; } = [];

    public CapabilityEndpoints Endpoints { get; set; } = new();
}

/// <summary>A parameter a capability accepts or reports.</summary>
[AliciaContract]
public sealed partial class CapabilityParameter
{
    public string Name { get; set; } = "";

    /// <summary>bool | int | float | string | enum.</summary>
    public string Type { get; set; } = "string";

    public string? Unit { get; set; }
    public double? Min { get; set; }
    public double? Max { get; set; }
    public List<string>? Values { get; set; }
    public bool Required { get; set; }
}

/// <summary>Where a capability takes input and produces output (topics).</summary>
[AliciaContract]
public sealed partial class CapabilityEndpoints
{
    public List<string> Input { get; set; } = [];
    public List<string> Output { get; set; } = [];
}

/// <summary>Limits a device declares for all of its capabilities.</summary>
[AliciaContract]
public sealed partial class CapabilityConstraints
{
    /// <summary>Concurrent sessions the device can serve (0: no limit).</summary>
    public int MaxConnections { get; set; }

    /// <summary>e.g. <c>100/minute</c> or <c>10/second</c>; empty: no limit.</summary>
    public string RateLimit { get; set; } = "";

    /// <summary>The latency the device needs from the bus, e.g. <c>50ms</c>.</summary>
    public string LatencyRequirement { get; set; } = "";
}

/// <summary>The device capability schema: what it can do and within which limits.</summary>
[AliciaContract]
public sealed partial class DeviceCapabilities
{
    public List<Capability> Capabilities { get; set; } = [];
    public CapabilityConstraints Constraints { get; set; } = new();
}
