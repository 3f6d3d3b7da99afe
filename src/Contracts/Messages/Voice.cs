namespace Alicia.Contracts.Messages;

[AliciaMessage("alicia/voice/stt/request", Kind = MessageKind.Request)]
public sealed partial class SttRequest
{
    public string SessionId { get; set; } = "";
    public string Language { get; set; } = "en";
    public int SampleRate { get; set; } = 16000;

    /// <summary>Small clips only: streams go over a negotiated audio session, not the bus.</summary>
    public byte[] Audio { get; set; } = [];
}

[AliciaContract]
public sealed partial class TranscriptSegment
{
    public string Text { get; set; } = "";
    public double StartSeconds { get; set; }
    public double EndSeconds { get; set; }
    public double Probability { get; set; }
}

[AliciaMessage("alicia/voice/stt/response", Kind = MessageKind.Response)]
public sealed partial class SttResponse
{
    public string SessionId { get; set; } = "";
    public string Text { get; set; } = "";
    public double Confidence { get; set; }
    public List<TranscriptSegment> Segments { get; set; } = [];

    /// <summary>Per-stage timings in milliseconds.</summary>
    public Dictionary<string, double> Timings { get; set; } = [];
}

[AliciaMessage("alicia/voice/ai/request", Kind = MessageKind.Request)]
public sealed partial class AiRequest
{
    public string SessionId { get; set; } = "";
    public string Text { get; set; } = "";
    public Dictionary<string, string> Context { get; set; } = [];
}

[AliciaMessage("alicia/voice/ai/response", Kind = MessageKind.Response)]
public sealed partial class AiResponse
{
    public string SessionId { get; set; } = "";
    public string Text { get; set; } = "";
    public string Intent { get; set; } = "";
    public Dictionary<string, string> Entities { get; set; } = [];
}

[AliciaMessage("alicia/voice/tts/request", Kind = MessageKind.Request)]
public sealed partial class TtsRequest
{
    public string SessionId { get; set; } = "";
    public string Text { get; set; } = "";
    public string Voice { get; set; } = "";
    public string TargetDevice { get; set; } = "";
}

[AliciaMessage("alicia/voice/tts/response", Kind = MessageKind.Response)]
public sealed partial class TtsResponse
{
    public string SessionId { get; set; } = "";
    public int SampleRate { get; set; } = 22050;
    public byte[] Audio { get; set; } = [];
    public double DurationMs { get; set; }
}

/// <summary>An understood voice command, routed by capability and place.</summary>
[AliciaMessage("alicia/voice/command/route", Kind = MessageKind.Command)]
public sealed partial class VoiceCommandRoute
{
    public string SessionId { get; set; } = "";
    public string Intent { get; set; } = "";
    public string Capability { get; set; } = "";
    public string Location { get; set; } = "";
    public string? DeviceId { get; set; }
    public Dictionary<string, string> Parameters { get; set; } = [];
}
