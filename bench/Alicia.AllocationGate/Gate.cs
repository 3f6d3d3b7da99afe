using System.Text;
using System.Text.Json;

namespace Alicia.AllocationGate;

/// <summary>One budgeted benchmark's outcome.</summary>
internal sealed record GateRow(string Benchmark, long Budget, long? Allocated)
{
    public bool Passed => Allocated is long bytes && bytes <= Budget;

    public string Status => Allocated is null ? "MISSING" : Passed ? "ok" : "OVER";
}

/// <summary>
/// Compares allocated bytes per operation (MemoryDiagnoser, read from BenchmarkDotNet JSON reports) with
/// committed budgets. Fails when a budgeted benchmark allocates more than its budget or is absent from
/// the reports (renamed, filtered out, or crashed). Never looks at time: CI machines are too noisy.
/// </summary>
internal static class Gate
{
    public static BudgetFile ReadBudgets(string json) =>
        JsonSerializer.Deserialize(json, GateJsonContext.Default.BudgetFile) ?? throw new InvalidDataException("the budget file is empty");

    /// <summary>Allocated bytes per operation by benchmark full name, over every report given.</summary>
    public static Dictionary<string, long> ReadAllocations(IEnumerable<string> reportJsons)
    {
        var allocated = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string json in reportJsons)
        {
            BdnReport report = JsonSerializer.Deserialize(json, GateJsonContext.Default.BdnReport) ?? throw new InvalidDataException("an empty report");
            foreach (BdnBenchmark b in report.Benchmarks)
            {
                // A benchmark without memory data ran without MemoryDiagnoser: treat it as missing.
                if (b.Memory is { } memory) allocated[b.FullName] = memory.BytesAllocatedPerOperation;
            }
        }
        return allocated;
    }

    public static List<GateRow> Check(BudgetFile budgets, IReadOnlyDictionary<string, long> allocated) =>
        [.. budgets.Budgets.OrderBy(b => b.Key, StringComparer.Ordinal)
            .Select(b => new GateRow(b.Key, b.Value, allocated.TryGetValue(b.Key, out long bytes) ? bytes : null))];

    public static string Table(IReadOnlyList<GateRow> rows, IReadOnlyDictionary<string, long> allocated, BudgetFile budgets)
    {
        var text = new StringBuilder();
        text.AppendLine("| benchmark | allocated B/op | budget B/op | result |");
        text.AppendLine("|:--|--:|--:|:--|");
        foreach (GateRow row in rows) text.AppendLine($"| {row.Benchmark} | {(row.Allocated?.ToString() ?? "-")} | {row.Budget} | {row.Status} |");
        foreach (string unbudgeted in allocated.Keys.Where(k => !budgets.Budgets.ContainsKey(k)).Order(StringComparer.Ordinal))
            text.AppendLine($"| {unbudgeted} | {allocated[unbudgeted]} | - | no budget (not gated) |");
        return text.ToString();
    }
}
