namespace Alicia.Engine.Monitoring;

/// <summary>One voice request as the dashboard shows it: where it came from, what was heard, and each stage's time in order.</summary>
internal sealed record VoiceTrace(string SessionId, string DeviceId, int Utterance, string Text, string Status, DateTimeOffset At,
    IReadOnlyList<KeyValuePair<string, double>> Stages, double TotalMs, string TraceId);
