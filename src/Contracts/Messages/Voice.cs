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

    /// <summary>The satellite the audio came from (its room is the default place for a command).</summary>
    public string DeviceId { get; set; } = "";

    public string Language { get; set; } = "en";

    /// <summary>0-based index of the utterance within the session.</summary>
    public int Utterance { get; set; }

    /// <summary><c>ok</c> when the transcript is accepted; <c>rejected</c>, <c>busy</c>, <c>cancelled</c> or <c>error</c> otherwise.</summary>
    public string Status { get; set; } = "ok";
    public string Text { get; set; } = "";
    public double Confidence { get; set; }
    public List<TranscriptSegment> Segments { get; set; } = [];

    /// <summary>Per-stage timings in milliseconds.</summary>
    public Dictionary<string, double> Timings { get; set; } = [];
}

/// <summary>
/// Text for the assistant without a microphone (<c>alicia say</c>, or any client): it goes through the same command router as a
/// transcript. <see cref="Context"/> may name <c>room</c>, <c>device_id</c> (the satellite it speaks for) and <c>language</c>.
/// </summary>
[AliciaMessage("alicia/voice/ai/request", Kind = MessageKind.Request)]
public sealed partial class AiRequest
{
    public string SessionId { get; set; } = "";
    public string Text { get; set; } = "";
    public Dictionary<string, string> Context { get; set; } = [];
}

/// <summary>Where a reply came from.</summary>
public enum ReplySource
{
    LocalIntent,
    Llm,
    Fallback,
}

/// <summary>
/// One piece of the assistant's reply, streamed sentence by sentence as it is made: speech output may start on the first
/// sentence while the rest is still arriving. Pieces of one reply share <see cref="SessionId"/> and <see cref="ReplyId"/> and
/// are numbered by <see cref="Sequence"/>; the last one has <see cref="IsFinal"/> set (its text may be empty).
/// </summary>
[AliciaMessage("alicia/voice/ai/response", Kind = MessageKind.Response)]
public sealed partial class AiResponse
{
    public string SessionId { get; set; } = "";

    /// <summary>One sentence (or the whole reply when it is short).</summary>
    public string Text { get; set; } = "";

    public string Intent { get; set; } = "";
    public Dictionary<string, string> Entities { get; set; } = [];

    /// <summary>Identifies the reply (one per utterance or request) that this piece belongs to.</summary>
    public string ReplyId { get; set; } = "";

    /// <summary>0-based position of this piece within its reply.</summary>
    public int Sequence { get; set; }

    /// <summary>The last piece of the reply.</summary>
    public bool IsFinal { get; set; }

    /// <summary>A short fixed confirmation ("Done.", "The kitchen light is on."): speech output may cache its audio.</summary>
    public bool IsFixedPhrase { get; set; }

    public ReplySource Source { get; set; }

    /// <summary>The satellite that asked (empty for a request without one): the reply is spoken there when it can be.</summary>
    public string DeviceId { get; set; } = "";

    /// <summary>The room the request came from (the satellite's room), for speakers when no satellite can play the reply.</summary>
    public string Room { get; set; } = "";

    public string Language { get; set; } = "en";

    /// <summary>Per-stage timings in milliseconds (routing, LLM first token, ...), cumulative from the transcript.</summary>
    public Dictionary<string, double> Timings { get; set; } = [];
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

    /// <summary>What the route was taken for: the utterance or request text.</summary>
    public string Text { get; set; } = "";

    /// <summary>The reply (<see cref="AiResponse.ReplyId"/>) that tells the user how it went.</summary>
    public string ReplyId { get; set; } = "";

    /// <summary>Who decided: <c>local_intent</c>, <c>llm_tool</c> (a tool the model called), <c>llm</c> (handed to the model) or <c>fallback</c>.</summary>
    public string Source { get; set; } = "";

    /// <summary>
    /// How it ended: <c>confirmed</c> (every device echoed), <c>failed</c>, <c>answered</c>, <c>question</c> (ambiguous),
    /// <c>unknown_device</c>, <c>stopped</c>, <c>timer</c>, <c>llm</c>, <c>fallback</c>, <c>empty</c>.
    /// </summary>
    public string Outcome { get; set; } = "";

    /// <summary>Every device commanded (and how each ended, in <see cref="DeviceOutcomes"/>).</summary>
    public List<string> DeviceIds { get; set; } = [];

    /// <summary>Per device: <c>confirmed</c>, <c>no_echo</c>, <c>offline</c>, <c>limited</c>; <c>retried:{other}</c> when another device took it.</summary>
    public Dictionary<string, string> DeviceOutcomes { get; set; } = [];

    /// <summary>The fallback taken, if any: <c>none</c>, <c>another_device</c> (a retry elsewhere), <c>llm</c> (no local intent), <c>fallback_reply</c> (the LLM was unreachable).</summary>
    public string Fallback { get; set; } = "";

    /// <summary>Per-stage timings in milliseconds (routing, command published, echo confirmed), cumulative from the transcript.</summary>
    public Dictionary<string, double> Timings { get; set; } = [];
}
