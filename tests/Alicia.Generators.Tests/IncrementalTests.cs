using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace Alicia.Generators.Tests;

public sealed class IncrementalTests
{
    private const string Contracts = """
        using System.Collections.Generic;
        using Alicia.Contracts;
        namespace Sample;

        public enum Level { Low, High }

        [AliciaContract]
        public sealed partial class Settings
        {
            public Level Level { get; set; }
            public Dictionary<string, string> Values { get; set; } = [];
        }

        [AliciaMessage("alicia/devices/{device_id}/settings", Kind = MessageKind.Command)]
        public sealed partial class ApplySettings
        {
            public Settings Settings { get; set; } = new();
        }

        public static class Helpers
        {
            public static int Answer() => 41;
        }
        """;

    private const string Unrelated = """
        namespace Sample;
        public sealed class Service
        {
            public int Run() { return 1; }
        }
        """;

    private static readonly string[] TrackedSteps =
    [
        AliciaGenerator.Steps.Contracts, AliciaGenerator.Steps.Messages, AliciaGenerator.Steps.Models,
        AliciaGenerator.Steps.Enums, AliciaGenerator.Steps.TopicEntries, AliciaGenerator.Steps.TopicTable,
        AliciaGenerator.Steps.Registrations, AliciaGenerator.Steps.AssemblyNamespace,
    ];

    private static (GeneratorDriver Driver, CSharpCompilation Compilation, ImmutableArray<GeneratedSourceResult> Sources) FirstRun()
    {
        CSharpCompilation compilation = GeneratorHarness.CreateCompilation(Contracts, Unrelated);
        GeneratorDriver driver = GeneratorHarness.CreateDriver(trackSteps: true).RunGenerators(compilation);
        GeneratorRunResult run = driver.GetRunResult().Results.Single();
        Assert.Empty(run.Diagnostics);
        Assert.Equal(4, run.GeneratedSources.Length); // Settings, ApplySettings, the Level helper, the topic table
        return (driver, compilation, run.GeneratedSources);
    }

    private static void AssertAllCached(GeneratorRunResult run, ImmutableArray<GeneratedSourceResult> before)
    {
        foreach (string step in TrackedSteps)
        {
            Assert.True(run.TrackedSteps.TryGetValue(step, out ImmutableArray<IncrementalGeneratorRunStep> steps), $"step {step} was not tracked");
            foreach (IncrementalGeneratorRunStep s in steps)
            {
                foreach ((object _, IncrementalStepRunReason reason) in s.Outputs)
                    Assert.True(reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"step {step}: {reason}");
            }
        }
        foreach ((string name, ImmutableArray<IncrementalGeneratorRunStep> steps) in run.TrackedOutputSteps)
        {
            foreach (IncrementalGeneratorRunStep s in steps)
            {
                foreach ((object _, IncrementalStepRunReason reason) in s.Outputs)
                    Assert.True(reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"output {name}: {reason}");
            }
        }
        Assert.Equal(
            before.Select(s => (s.HintName, s.SourceText.ToString())).OrderBy(x => x.HintName),
            run.GeneratedSources.Select(s => (s.HintName, s.SourceText.ToString())).OrderBy(x => x.HintName));
    }

    [Fact]
    public void Adding_an_unrelated_syntax_tree_keeps_every_step_cached()
    {
        (GeneratorDriver driver, CSharpCompilation compilation, ImmutableArray<GeneratedSourceResult> before) = FirstRun();
        CSharpCompilation next = compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("namespace Sample; public sealed class Extra { }", GeneratorHarness.ParseOptions, path: "Extra.cs"));
        driver = driver.RunGenerators(next);
        AssertAllCached(driver.GetRunResult().Results.Single(), before);
    }

    [Fact]
    public void Editing_an_unrelated_method_body_keeps_every_step_cached()
    {
        (GeneratorDriver driver, CSharpCompilation compilation, ImmutableArray<GeneratedSourceResult> before) = FirstRun();
        SyntaxTree old = compilation.SyntaxTrees.Single(t => t.FilePath == "Source1.cs");
        SyntaxTree edited = old.WithChangedText(SourceText.From(Unrelated.Replace("return 1;", "return 2 + 3;"), System.Text.Encoding.UTF8));
        driver = driver.RunGenerators(compilation.ReplaceSyntaxTree(old, edited));
        AssertAllCached(driver.GetRunResult().Results.Single(), before);
    }

    [Fact]
    public void Editing_a_method_body_in_the_contracts_file_keeps_outputs_unchanged()
    {
        (GeneratorDriver driver, CSharpCompilation compilation, ImmutableArray<GeneratedSourceResult> before) = FirstRun();
        SyntaxTree old = compilation.SyntaxTrees.Single(t => t.FilePath == "Source0.cs");
        SyntaxTree edited = old.WithChangedText(SourceText.From(Contracts.Replace("=> 41;", "=> 42 + 0;"), System.Text.Encoding.UTF8));
        driver = driver.RunGenerators(compilation.ReplaceSyntaxTree(old, edited));
        AssertAllCached(driver.GetRunResult().Results.Single(), before);
    }

    [Fact]
    public void Changing_one_contract_regenerates_only_that_contract()
    {
        (GeneratorDriver driver, CSharpCompilation compilation, _) = FirstRun();
        SyntaxTree old = compilation.SyntaxTrees.Single(t => t.FilePath == "Source0.cs");
        SyntaxTree edited = old.WithChangedText(SourceText.From(
            Contracts.Replace("public Level Level { get; set; }", "public Level Level { get; set; }\n    public int Extra { get; set; }"), System.Text.Encoding.UTF8));
        driver = driver.RunGenerators(compilation.ReplaceSyntaxTree(old, edited));
        GeneratorRunResult run = driver.GetRunResult().Results.Single();

        IncrementalStepRunReason[] models = run.TrackedSteps[AliciaGenerator.Steps.Models].SelectMany(s => s.Outputs).Select(o => o.Reason).ToArray();
        // Settings is re-emitted; ApplySettings (same file, so re-parsed) keeps its model.
        Assert.Single(models, r => r == IncrementalStepRunReason.Modified);
        Assert.Equal(2, models.Length);
        Assert.All(run.TrackedSteps[AliciaGenerator.Steps.TopicTable].SelectMany(s => s.Outputs), o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged));
        Assert.Contains("\"extra\"u8", run.GeneratedSources.Single(s => s.HintName == "Sample.Settings.g.cs").SourceText.ToString());
    }
}
