using Alicia.Contracts.Messages;

namespace Alicia.Voice.Arbitration;

/// <summary>
/// The detections of one wake word in one room within the arbitration window. The best is the highest score, then the
/// loudest level, then the earliest heard; a satellite that reports twice counts once (its best report).
/// </summary>
internal sealed class WakeWordRound(string id, string room, string wakeWord)
{
    private readonly List<WakeWordDetection> _detections = [];

    public string Id { get; } = id;
    public string Room { get; } = room;
    public string WakeWord { get; } = wakeWord;
    public ITimer? Timer { get; set; }

    public int Count => _detections.Count;

    public void Add(WakeWordDetection detection) => _detections.Add(detection);

    public WakeWordDecision Decide()
    {
        // Stable order: on equal score and level, the earlier detection (lower index) stays first.
        List<WakeWordDetection> ranked = [.. _detections.OrderByDescending(d => d.Score).ThenByDescending(d => d.Level)];
        string winner = ranked[0].DeviceId;
        List<string> standDown = [.. ranked.Select(d => d.DeviceId).Where(d => d != winner).Distinct(StringComparer.Ordinal)];
        return new WakeWordDecision { RoundId = Id, Room = Room, WakeWord = WakeWord, Winner = winner, StandDown = standDown };
    }
}
