using System.Text.Json.Serialization;

namespace Alicia.AllocationGate;

/// <summary>The part of a BenchmarkDotNet JSON report (JsonExporter) the gate reads.</summary>
internal sealed class BdnReport
{
    public List<BdnBenchmark> Benchmarks { get; set; } = [];
}

internal sealed class BdnBenchmark
{
    public string FullName { get; set; } = "";
    public BdnMemory? Memory { get; set; }
}

internal sealed class BdnMemory
{
    public long BytesAllocatedPerOperation { get; set; }
}

/// <summary>bench/allocation-budgets.json: benchmark full name → the most bytes one operation may allocate.</summary>
internal sealed class BudgetFile
{
    public Dictionary<string, long> Budgets { get; set; } = [];
}

// Source-generated: no reflection-based serialization anywhere in the repository.
[JsonSourceGenerationOptions(ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true, PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(BdnReport))]
[JsonSerializable(typeof(BudgetFile))]
internal sealed partial class GateJsonContext : JsonSerializerContext;
