namespace Alicia.Voice.Stt;

/// <summary>What a session needs from speech to text.</summary>
internal sealed record SttRequirement
{
    /// <summary>ISO 639-1 language of the speech.</summary>
    public string Language { get; init; } = "en";

    /// <summary>A named engine (configuration or the session request); null lets the requirement choose.</summary>
    public string? Engine { get; init; }

    /// <summary>Time allowed from the end of speech to the transcript; null: no budget.</summary>
    public TimeSpan? LatencyBudget { get; init; }
}

/// <summary>The engine chosen for a session, or why none could be.</summary>
internal sealed record SttChoice(SpeechToTextPool? Pool, string? Error, bool OverBudget = false);

/// <summary>
/// The engine manager: every speech-to-text engine the service runs, each behind its own scheduling pool,
/// in preference order (the first is the default). A session is matched to an engine by name when it
/// names one, else by requirement: the engines that serve its language, then the first preferred whose
/// expected time to a result fits the latency budget, or the quickest when none fits.
/// </summary>
internal sealed class SttEngineManager : IAsyncDisposable
{
    private readonly List<SpeechToTextPool> _pools = [];

    public IReadOnlyList<SpeechToTextPool> Pools => _pools;

    public SpeechToTextPool? Default => _pools.Count > 0 ? _pools[0] : null;

    public void Add(SpeechToTextPool pool)
    {
        if (_pools.Any(p => p.Engine.Name == pool.Engine.Name)) throw new ArgumentException($"a speech-to-text engine named '{pool.Engine.Name}' is already registered");
        _pools.Add(pool);
    }

    public SttChoice Choose(SttRequirement requirement)
    {
        if (_pools.Count == 0) return new SttChoice(null, "no speech-to-text engine is configured");
        if (!string.IsNullOrEmpty(requirement.Engine))
        {
            SpeechToTextPool? named = _pools.FirstOrDefault(p => p.Engine.Name == requirement.Engine);
            if (named is null) return new SttChoice(null, $"no speech-to-text engine named '{requirement.Engine}' (engines: {Describe()})");
            return named.Engine.Serves(requirement.Language) ? new SttChoice(named, null)
                : new SttChoice(null, $"speech-to-text engine '{named.Engine.Name}' does not serve language '{requirement.Language}'");
        }

        List<SpeechToTextPool> candidates = _pools.Where(p => p.Engine.Serves(requirement.Language)).ToList();
        if (candidates.Count == 0) return new SttChoice(null, $"no speech-to-text engine serves language '{requirement.Language}' (engines: {Describe()})");
        if (requirement.LatencyBudget is not { } budget) return new SttChoice(candidates[0], null);
        SpeechToTextPool? fits = candidates.FirstOrDefault(p => p.ExpectedResultMs <= budget.TotalMilliseconds);
        return fits is not null ? new SttChoice(fits, null) : new SttChoice(candidates.MinBy(p => p.ExpectedResultMs), null, OverBudget: true);
    }

    private string Describe() => string.Join(", ", _pools.Select(p => p.Engine.Languages.Count == 0 ? p.Engine.Name : $"{p.Engine.Name} [{string.Join(' ', p.Engine.Languages)}]"));

    /// <summary>Stops the pools (the engines belong to whoever created them).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (SpeechToTextPool pool in _pools) await pool.DisposeAsync().ConfigureAwait(false);
    }
}
