namespace Alicia.Assistant.Intents;

/// <summary>What the local intent engine decided to do with an utterance.</summary>
internal enum DecisionKind
{
    /// <summary>No local intent: the LLM gets it.</summary>
    NoMatch,

    /// <summary>Answered without acting (time, date, a sensor, a question back, an unknown device).</summary>
    Reply,

    /// <summary>A command to devices, confirmed by their echo.</summary>
    DeviceCommand,

    /// <summary>Stop speaking.</summary>
    Stop,
    TimerSet,
    TimerCancel,
}

/// <summary>
/// The local intent engine's decision: the intent and its slots (published on the route), and either the reply or
/// the device command to carry out.
/// </summary>
internal sealed record LocalDecision(DecisionKind Kind, string Intent)
{
    public Dictionary<string, string> Slots { get; init; } = [];
    public string Reply { get; init; } = "";

    /// <summary>A short fixed sentence ("Timer cancelled."): speech output may cache it.</summary>
    public bool IsFixedPhrase { get; init; }

    /// <summary>A question back (ambiguity) rather than an answer.</summary>
    public bool IsQuestion { get; init; }

    /// <summary>For the route: <c>answered</c>, <c>question</c> or <c>unknown_device</c> (a reply that says no such device is there).</summary>
    public string Outcome { get; init; } = "answered";

    public string Room { get; init; } = "";
    public HomeDevice[] Devices { get; init; } = [];
    public bool All { get; init; }
    public string Capability { get; init; } = "";
    public string Command { get; init; } = "";
    public Dictionary<string, string> Parameters { get; init; } = [];

    /// <summary>Another device with the capability in the room may take the command when the chosen one does not confirm.</summary>
    public bool AllowElsewhere { get; init; }
    public int TimerSeconds { get; init; }

    public static readonly LocalDecision NoMatch = new(DecisionKind.NoMatch, "");
}
