namespace Alicia.Contracts.Messages;

public enum DeviceState
{
    Online,
    Degraded,
    Offline,
}

[AliciaMessage("alicia/devices/{device_id}/status", Kind = MessageKind.Event)]
public sealed partial class DeviceStatus
{
    public DeviceState State { get; set; }

    /// <summary>Birth/death sequence of the connection, so a stale death notice can be told apart.</summary>
    public long BirthSequence { get; set; }

    public Dictionary<string, string> Attributes { get; set; } = [];
}

[AliciaMessage("alicia/devices/{device_id}/command", Kind = MessageKind.Command)]
public sealed partial class DeviceCommand
{
    public string Command { get; set; } = "";
    public string Capability { get; set; } = "";
    public Dictionary<string, string> Parameters { get; set; } = [];
}

[AliciaMessage("alicia/devices/{device_id}/data", Kind = MessageKind.Event)]
public sealed partial class DeviceData
{
    public Dictionary<string, double> Values { get; set; } = [];
}

[AliciaMessage("alicia/devices/{device_id}/config", Kind = MessageKind.Command)]
public sealed partial class DeviceConfig
{
    public Dictionary<string, string> Settings { get; set; } = [];
}

/// <summary>An audio chunk from a simple device (100 ms or more; streams use an audio session).</summary>
[AliciaMessage("alicia/devices/{device_id}/audio", Kind = MessageKind.Event)]
public sealed partial class DeviceAudio
{
    public string SessionId { get; set; } = "";
    public long Sequence { get; set; }
    public int SampleRate { get; set; } = 16000;
    public int Channels { get; set; } = 1;
    public byte[] Pcm { get; set; } = [];
}

[AliciaMessage("alicia/devices/speakers/announce", Kind = MessageKind.Command)]
public sealed partial class SpeakerAnnouncement
{
    public string Text { get; set; } = "";
    public string Location { get; set; } = "";
    public double Volume { get; set; } = 0.5;
    public int Priority { get; set; }
}

/// <summary>One sensor reading. A struct: telemetry is the highest-rate traffic and decodes without allocating.</summary>
[AliciaMessage("alicia/devices/sensors/telemetry", Kind = MessageKind.Event)]
public partial struct SensorTelemetry
{
    public string DeviceId { get; set; }
    public string Sensor { get; set; }
    public double Value { get; set; }
    public string Unit { get; set; }
    public string Location { get; set; }
}
