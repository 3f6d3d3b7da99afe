namespace Alicia.Contracts.Messages;

/// <summary>
/// A satellite heard the wake word: how sure it is (<see cref="Score"/>, 0-1) and how loud it heard it
/// (<see cref="Level"/>, e.g. dBFS), so the engine can pick one satellite when several in a room heard it.
/// </summary>
[AliciaMessage("alicia/voice/wake/detection", Kind = MessageKind.Event)]
public sealed partial class WakeWordDetection
{
    public string DeviceId { get; set; } = "";
    public string Room { get; set; } = "";
    public string WakeWord { get; set; } = "";
    public double Score { get; set; }
    public double Level { get; set; }
}

/// <summary>
/// The arbiter's pick for one round of detections: <see cref="Winner"/> opens its voice session, every device in
/// <see cref="StandDown"/> goes back to waiting. A broadcast naming the winner, so one topic serves every satellite.
/// </summary>
[AliciaMessage("alicia/voice/wake/decision", Kind = MessageKind.Event)]
public sealed partial class WakeWordDecision
{
    public string RoundId { get; set; } = "";
    public string Room { get; set; } = "";
    public string WakeWord { get; set; } = "";
    public string Winner { get; set; } = "";
    public List<string> StandDown { get; set; } = [];
}
