using Alicia.AllocationGate;

namespace Alicia.Bench.Tests;

/// <summary>
/// The allocation gate against a report shaped exactly like BenchmarkDotNet 0.15's JsonExporter output
/// (trimmed to two benchmarks), run through the program's entry point as CI runs it.
/// </summary>
public sealed class AllocationGateTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private const string Report = """
        {"Title":"Alicia.Benchmarks.TopicBenchmarks-20261129-010000","HostEnvironmentInfo":{"BenchmarkDotNetVersion":"0.15.8"},
         "Benchmarks":[
          {"DisplayInfo":"TopicBenchmarks.ParseTryParseTopic: Job-X","Namespace":"Alicia.Benchmarks","Type":"TopicBenchmarks","Method":"ParseTryParseTopic",
           "MethodTitle":"ParseTryParseTopic","Parameters":"","FullName":"Alicia.Benchmarks.TopicBenchmarks.ParseTryParseTopic",
           "Statistics":{"N":1,"Mean":59.7},
           "Memory":{"Gen0Collections":0,"Gen1Collections":0,"Gen2Collections":0,"TotalOperations":2048,"BytesAllocatedPerOperation":0},
           "Measurements":[{"IterationMode":"Workload","IterationStage":"Actual","LaunchIndex":1,"IterationIndex":1,"Operations":2048,"Nanoseconds":122300}]},
          {"DisplayInfo":"TopicBenchmarks.ParseSplit: Job-X","Namespace":"Alicia.Benchmarks","Type":"TopicBenchmarks","Method":"ParseSplit",
           "MethodTitle":"ParseSplit","Parameters":"","FullName":"Alicia.Benchmarks.TopicBenchmarks.ParseSplit",
           "Statistics":{"N":1,"Mean":452.3},
           "Memory":{"Gen0Collections":0,"Gen1Collections":0,"Gen2Collections":0,"TotalOperations":2048,"BytesAllocatedPerOperation":344},
           "Measurements":[]}
         ]}
        """;

    public AllocationGateTests() => File.WriteAllText(Path.Combine(_dir.Path, "Alicia.Benchmarks.TopicBenchmarks-report-full-compressed.json"), Report);

    public void Dispose() => _dir.Dispose();

    private string Budgets(string body)
    {
        string path = Path.Combine(_dir.Path, "budgets.json");
        File.WriteAllText(path, "// benchmark full name -> max allocated bytes per operation\n{ \"budgets\": {" + body + "} }");
        return path;
    }

    [Fact]
    public void Within_budget_passes()
    {
        string budgets = Budgets("\"Alicia.Benchmarks.TopicBenchmarks.ParseTryParseTopic\": 16, \"Alicia.Benchmarks.TopicBenchmarks.ParseSplit\": 344");
        Assert.Equal(0, Program.Main([budgets, _dir.Path]));
    }

    [Fact]
    public void Over_budget_fails_and_the_table_says_which()
    {
        string budgets = Budgets("\"Alicia.Benchmarks.TopicBenchmarks.ParseTryParseTopic\": 16, \"Alicia.Benchmarks.TopicBenchmarks.ParseSplit\": 343");
        Assert.Equal(1, Program.Main([budgets, _dir.Path]));

        List<GateRow> rows = Gate.Check(Gate.ReadBudgets(File.ReadAllText(budgets)), Gate.ReadAllocations([Report]));
        GateRow over = Assert.Single(rows, r => !r.Passed);
        Assert.Equal(("Alicia.Benchmarks.TopicBenchmarks.ParseSplit", 343L, (long?)344L, "OVER"), (over.Benchmark, over.Budget, over.Allocated, over.Status));
    }

    [Fact]
    public void A_benchmark_measured_again_is_judged_by_its_later_report()
    {
        // The gate script measures an over-budget benchmark once more and passes both folders, the retry last.
        string retry = Path.Combine(_dir.Path, "retry");
        Directory.CreateDirectory(retry);
        File.WriteAllText(Path.Combine(retry, "Alicia.Benchmarks.TopicBenchmarks-report-full-compressed.json"),
            Report.Replace("\"BytesAllocatedPerOperation\":344", "\"BytesAllocatedPerOperation\":100", StringComparison.Ordinal));
        string budgets = Budgets("\"Alicia.Benchmarks.TopicBenchmarks.ParseSplit\": 200");
        string first = Path.Combine(_dir.Path, "first");
        Directory.CreateDirectory(first);
        File.Move(Path.Combine(_dir.Path, "Alicia.Benchmarks.TopicBenchmarks-report-full-compressed.json"), Path.Combine(first, "report-full-compressed-report.json"));
        Assert.Equal(1, Program.Main([budgets, first]));
        Assert.Equal(0, Program.Main([budgets, first, retry]));
        Assert.Equal(1, Program.Main([budgets, retry, first])); // order decides: the report read last stands
    }

    [Fact]
    public void A_budgeted_benchmark_missing_from_the_reports_fails()
    {
        string budgets = Budgets("\"Alicia.Benchmarks.TopicBenchmarks.ParseTryParseTopic\": 16, \"Alicia.Benchmarks.TopicBenchmarks.Renamed\": 1000");
        Assert.Equal(1, Program.Main([budgets, _dir.Path]));

        List<GateRow> rows = Gate.Check(Gate.ReadBudgets(File.ReadAllText(budgets)), Gate.ReadAllocations([Report]));
        GateRow missing = Assert.Single(rows, r => !r.Passed);
        Assert.Equal(("Alicia.Benchmarks.TopicBenchmarks.Renamed", "MISSING"), (missing.Benchmark, missing.Status));
    }

    [Fact]
    public void A_benchmark_run_without_the_memory_diagnoser_counts_as_missing()
    {
        string noMemory = Report.Replace("\"Memory\":{\"Gen0Collections\":0,\"Gen1Collections\":0,\"Gen2Collections\":0,\"TotalOperations\":2048,\"BytesAllocatedPerOperation\":0},", "");
        Dictionary<string, long> allocated = Gate.ReadAllocations([noMemory]);
        Assert.False(allocated.ContainsKey("Alicia.Benchmarks.TopicBenchmarks.ParseTryParseTopic"));
        Assert.Equal(344, allocated["Alicia.Benchmarks.TopicBenchmarks.ParseSplit"]);
    }

    [Fact]
    public void No_report_in_the_folder_is_an_input_error()
    {
        using var empty = new TempDirectory();
        Assert.Equal(2, Program.Main([Budgets("\"A.B.C\": 0"), empty.Path]));
    }

    [Fact]
    public void The_committed_budget_file_parses_and_budgets_the_hot_paths()
    {
        string path = Path.Combine(Repository.Root, "bench", "allocation-budgets.json");
        BudgetFile budgets = Gate.ReadBudgets(File.ReadAllText(path));
        Assert.Contains("Alicia.Benchmarks.EnvelopeBenchmarks.VerifyAndDecode", budgets.Budgets.Keys);
        Assert.Contains("Alicia.Benchmarks.DispatchBenchmarks.DispatchAndVerify", budgets.Budgets.Keys);
        // Issue 14's remaining hot paths: VAD frame, router, phonemizer, Piper ids and synthesis per sentence.
        Assert.Equal(16, budgets.Budgets["Alicia.Benchmarks.VadBenchmarks.SileroVadProcess"]);
        Assert.Equal(16, budgets.Budgets["Alicia.Benchmarks.SpeechBenchmarks.Ids_map_into_reused_buffer"]);
        Assert.Contains("Alicia.Benchmarks.RouterBenchmarks.Local_intent_decision", budgets.Budgets.Keys);
        Assert.Contains("Alicia.Benchmarks.RouterBenchmarks.Router_overhead_before_the_LLM_request", budgets.Budgets.Keys);
        Assert.Contains("Alicia.Benchmarks.SpeechBenchmarks.Phonemize_sentence", budgets.Budgets.Keys);
        Assert.Contains("Alicia.Benchmarks.SpeechBenchmarks.Piper_sentence_to_pcm", budgets.Budgets.Keys);
        Assert.Contains("Alicia.Benchmarks.SpeechBenchmarks.Espeak_sentence_to_pcm", budgets.Budgets.Keys);
        Assert.All(budgets.Budgets.Values, v => Assert.True(v >= 0));
    }

}
