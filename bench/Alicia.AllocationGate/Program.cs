namespace Alicia.AllocationGate;

/// <summary>
/// Usage: Alicia.AllocationGate &lt;budgets.json&gt; &lt;BenchmarkDotNet results folder or report.json&gt;...
/// Exit 0 when every budgeted benchmark is within budget, 1 when one is over or missing, 2 on bad input.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length < 2)
        {
            Console.Error.WriteLine("usage: Alicia.AllocationGate <budgets.json> <results folder or *.json report>...");
            return 2;
        }
        try
        {
            BudgetFile budgets = Gate.ReadBudgets(File.ReadAllText(args[0]));
            List<string> reports = [.. args.Skip(1).SelectMany(ReportsIn)];
            if (reports.Count == 0)
            {
                Console.Error.WriteLine($"no BenchmarkDotNet JSON report (*-report*.json) in {string.Join(", ", args.Skip(1))}");
                return 2;
            }
            Dictionary<string, long> allocated = Gate.ReadAllocations(reports.Select(File.ReadAllText));
            List<GateRow> rows = Gate.Check(budgets, allocated);
            Console.Write(Gate.Table(rows, allocated, budgets));
            int failed = rows.Count(r => !r.Passed);
            Console.WriteLine(failed == 0
                ? $"allocation gate passed: {rows.Count} benchmarks within budget"
                : $"allocation gate FAILED: {failed} of {rows.Count} budgeted benchmarks over budget or missing");
            return failed == 0 ? 0 : 1;
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or InvalidDataException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"allocation gate: {e.Message}");
            return 2;
        }
    }

    private static IEnumerable<string> ReportsIn(string path) =>
        Directory.Exists(path)
            ? Directory.EnumerateFiles(path, "*-report*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            : [path];
}
