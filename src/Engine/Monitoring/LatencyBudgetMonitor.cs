using Alicia.Contracts.Messages;

namespace Alicia.Engine.Monitoring;

/// <summary>
/// Compares a finished request's time with its budget (<see cref="LatencyBudgets"/>) and, when it is over, makes the
/// <see cref="BudgetExceeded"/> event naming the stage that used the most of it.
/// </summary>
internal sealed class LatencyBudgetMonitor(LatencyBudgets budgets, MonitoringMetrics? metrics = null)
{
    /// <summary>Raised for every request over its budget.</summary>
    public event Action<BudgetExceeded>? Exceeded;

    /// <summary>
    /// Checks one request: <paramref name="totalMs"/> end to end, <paramref name="stages"/> the parts of it that were timed
    /// (time not covered by a stage counts as <c>other</c>). Returns the breach, or null within budget.
    /// </summary>
    public BudgetExceeded? Check(string budget, double totalMs, IReadOnlyList<KeyValuePair<string, double>> stages, string traceId = "")
    {
        double limit = budgets.Of(budget);
        if (limit <= 0 || totalMs <= limit) return null;
        string stage = "other";
        double stageMs = totalMs - stages.Sum(s => s.Value);
        foreach ((string name, double ms) in stages)
        {
            if (ms > stageMs) (stage, stageMs) = (name, ms);
        }
        var breach = new BudgetExceeded
        {
            Budget = budget,
            BudgetMs = limit,
            ElapsedMs = totalMs,
            Stage = stage,
            StageMs = stageMs,
            Stages = stages.ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal),
            TraceId = traceId,
        };
        metrics?.BudgetExceeded(budget, stage);
        Exceeded?.Invoke(breach);
        return breach;
    }
}
