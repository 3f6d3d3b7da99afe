using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using Alicia.Contracts;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Alicia.Generators.Tests;

/// <summary>Runs <see cref="AliciaGenerator"/> over in-memory sources against a reference to Alicia.Contracts.dll.</summary>
internal static class GeneratorHarness
{
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .ToList();
        paths.Add(typeof(IAliciaSerializable<>).Assembly.Location);
        return [.. paths.Distinct().Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))];
    });

    public static CSharpCompilation CreateCompilation(params string[] sources) =>
        CSharpCompilation.Create(
            "Alicia.TestContracts",
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: $"Source{i}.cs")),
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver CreateDriver(bool trackSteps = false) =>
        CSharpGeneratorDriver.Create(
            [new AliciaGenerator().AsSourceGenerator()],
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));

    public sealed record Result(Compilation Output, ImmutableArray<Diagnostic> GeneratorDiagnostics, GeneratorDriverRunResult Run)
    {
        public string Source(string hintNameEnd) =>
            Run.Results.Single().GeneratedSources.Single(s => s.HintName.EndsWith(hintNameEnd, StringComparison.Ordinal)).SourceText.ToString();

        public IEnumerable<string> HintNames => Run.Results.Single().GeneratedSources.Select(s => s.HintName);

        /// <summary>Compiler diagnostics (warnings and errors) of the whole output compilation.</summary>
        public IEnumerable<Diagnostic> CompileDiagnostics => Output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning);
    }

    public static Result Run(params string[] sources)
    {
        CSharpCompilation compilation = CreateCompilation(sources);
        GeneratorDriver driver = CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out Compilation output, out ImmutableArray<Diagnostic> diagnostics);
        return new Result(output, diagnostics, driver.GetRunResult());
    }

    /// <summary>Runs the generator and asserts the output compiles without errors or warnings.</summary>
    public static Result RunClean(params string[] sources)
    {
        Result result = Run(sources);
        Assert.True(result.GeneratorDiagnostics.IsEmpty, string.Join("\n", result.GeneratorDiagnostics));
        string compile = string.Join("\n", result.CompileDiagnostics);
        Assert.True(compile.Length == 0, compile);
        return result;
    }

    /// <summary>Emits the compilation and loads it (Alicia.Contracts resolves to the already loaded assembly).</summary>
    public static Assembly Load(Compilation compilation)
    {
        using var stream = new MemoryStream();
        Microsoft.CodeAnalysis.Emit.EmitResult emit = compilation.Emit(stream);
        Assert.True(emit.Success, string.Join("\n", emit.Diagnostics));
        stream.Position = 0;
        return new AssemblyLoadContext(null, isCollectible: true).LoadFromStream(stream);
    }

    /// <summary>The span of the <paramref name="occurrence"/>-th <paramref name="marker"/> in <paramref name="source"/>.</summary>
    public static Microsoft.CodeAnalysis.Text.TextSpan SpanOf(string source, string marker, int occurrence = 1)
    {
        int index = -1;
        for (int i = 0; i < occurrence; i++)
        {
            index = source.IndexOf(marker, index + 1, StringComparison.Ordinal);
            Assert.True(index >= 0, $"marker '{marker}' not found");
        }
        return new Microsoft.CodeAnalysis.Text.TextSpan(index, marker.Length);
    }
}
