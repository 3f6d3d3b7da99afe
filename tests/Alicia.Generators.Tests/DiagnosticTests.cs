using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Alicia.Generators.Tests;

public sealed class DiagnosticTests
{
    private const string Usings = "using System;\nusing System.Collections.Generic;\nusing Alicia.Contracts;\nnamespace Sample;\n";

    /// <summary>Runs the generator and returns its single diagnostic, asserting its id and that it points at <paramref name="marker"/>.</summary>
    private static Diagnostic Single(string source, string id, string marker, int occurrence = 1)
    {
        GeneratorHarness.Result result = GeneratorHarness.Run(source);
        Diagnostic diagnostic = Assert.Single(result.GeneratorDiagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal(GeneratorHarness.SpanOf(source, marker, occurrence), diagnostic.Location.SourceSpan);
        FileLinePositionSpan lines = diagnostic.Location.GetLineSpan();
        Assert.Equal("Source0.cs", lines.Path);
        int expectedLine = source[..GeneratorHarness.SpanOf(source, marker, occurrence).Start].Count(c => c == '\n');
        Assert.Equal(expectedLine, lines.StartLinePosition.Line);
        return diagnostic;
    }

    [Fact]
    public void ALC001_duplicate_topic_pattern_is_reported_on_the_second_type()
    {
        string source = Usings + """
            [AliciaMessage("alicia/things/{id}/state")] public partial class FirstThing { }
            [AliciaMessage("alicia/things/{id}/state")] public partial class SecondThing { }
            """;
        Diagnostic d = Single(source, "ALC001", "\"alicia/things/{id}/state\"", occurrence: 2);
        Assert.Contains("'SecondThing'", d.GetMessage());
        Assert.Contains("'FirstThing'", d.GetMessage());
    }

    [Theory]
    [InlineData("object", "object")]
    [InlineData("Dictionary<int, string>", "Dictionary<int, string>")]
    [InlineData("List<object>", "List<object>")]
    [InlineData("decimal", "decimal")]
    [InlineData("int[,]", "int[*,*]")]
    public void ALC002_unsupported_member_type_names_property_and_type(string type, string display)
    {
        string source = Usings + $$"""
            [AliciaContract] public partial class Holder
            {
                public int Fine { get; set; }
                public {{type}} Bad { get; set; } = default!;
            }
            """;
        Diagnostic d = Single(source, "ALC002", "Bad");
        Assert.Contains("'Bad'", d.GetMessage());
        Assert.Contains("'Holder'", d.GetMessage());
        Assert.Contains(display, d.GetMessage());
    }

    [Fact]
    public void ALC003_type_not_partial()
    {
        string source = Usings + "[AliciaContract] public sealed class Whole { public int A { get; set; } }";
        Diagnostic d = Single(source, "ALC003", "Whole");
        Assert.Contains("partial", d.GetMessage());
    }

    [Theory]
    [InlineData("devices/{id}/status", "must start with")]
    [InlineData("alicia//status", "empty segment")]
    [InlineData("alicia/status/", "empty segment")]
    [InlineData("alicia/+/status", "wildcards")]
    [InlineData("alicia/status/#", "wildcards")]
    [InlineData("alicia/{Device}/status", "{snake_case}")]
    [InlineData("alicia/dev{id}/status", "whole placeholder")]
    [InlineData("alicia/{id/status", "whole placeholder")]
    [InlineData("alicia/{}/status", "whole placeholder")]
    [InlineData("alicia/{id}/{id}", "twice")]
    [InlineData("", "empty")]
    public void ALC004_invalid_topic_pattern(string pattern, string reason)
    {
        string literal = "\"" + pattern + "\"";
        string source = Usings + $"[AliciaMessage({literal})] public partial class Bad {{ }}";
        Diagnostic d = Single(source, "ALC004", literal);
        Assert.Contains(reason, d.GetMessage());
    }

    [Theory]
    [InlineData("public partial class Thing { public Thing(int x) { } public int Prop { get; set; } }", "Thing", "parameterless constructor")]
    [InlineData("public partial class Thing { public int Prop { get; init; } }", "Prop", "init-only")]
    [InlineData("public partial class Thing { public int Prop { get; } }", "Prop", "no setter")]
    [InlineData("public partial class Thing { public int Prop { get; private set; } }", "Prop", "not public")]
    [InlineData("public partial class Thing { public required int Prop { get; set; } }", "Prop", "required")]
    [InlineData("public abstract partial class Thing { public int Prop { get; set; } }", "Thing", "abstract")]
    [InlineData("public partial record Thing(int Prop);", "Thing", "parameterless constructor")]
    public void ALC005_not_constructible_or_settable(string declaration, string marker, string reason)
    {
        string source = Usings + "[AliciaContract]\n" + declaration;
        GeneratorHarness.Result result = GeneratorHarness.Run(source);
        Diagnostic d = Assert.Single(result.GeneratorDiagnostics, x => x.GetMessage().Contains(reason, StringComparison.Ordinal));
        Assert.Equal("ALC005", d.Id);
        Assert.Equal(GeneratorHarness.SpanOf(source, marker), d.Location.SourceSpan);
        Assert.All(result.GeneratorDiagnostics, x => Assert.Equal("ALC005", x.Id));
        Assert.DoesNotContain("Sample.Thing.g.cs", result.HintNames);
    }

    [Fact]
    public void ALC006_duplicate_wire_name_points_at_the_attribute()
    {
        string source = Usings + """
            [AliciaContract] public partial class Twins
            {
                public string DeviceId { get; set; } = "";
                [WireName("device_id")] public string Other { get; set; } = "";
            }
            """;
        Diagnostic d = Single(source, "ALC006", "WireName(\"device_id\")");
        Assert.Contains("'Other'", d.GetMessage());
        Assert.Contains("'DeviceId'", d.GetMessage());
        Assert.Contains("'device_id'", d.GetMessage());
    }

    [Fact]
    public void ALC007_nested_type()
    {
        string source = Usings + """
            public static partial class Outer
            {
                [AliciaContract] public partial class Inner { public int A { get; set; } }
            }
            """;
        Diagnostic d = Single(source, "ALC007", "Inner");
        Assert.Contains("'Outer'", d.GetMessage());
    }

    [Fact]
    public void ALC008_generic_type()
    {
        string source = Usings + "[AliciaContract] public partial class Box<T> { public int A { get; set; } }";
        Single(source, "ALC008", "Box");
    }

    [Fact]
    public void A_type_with_errors_emits_no_source_but_valid_types_still_do()
    {
        string source = Usings + """
            [AliciaContract] public partial class Good { public int A { get; set; } }
            [AliciaContract] public partial class Broken { public object B { get; set; } = new(); }
            """;
        GeneratorHarness.Result result = GeneratorHarness.Run(source);
        Assert.Equal("ALC002", Assert.Single(result.GeneratorDiagnostics).Id);
        Assert.Contains("Sample.Good.g.cs", result.HintNames);
        Assert.DoesNotContain("Sample.Broken.g.cs", result.HintNames);
    }

    [Fact]
    public void A_clean_source_has_no_diagnostics()
    {
        GeneratorHarness.Result result = GeneratorHarness.RunClean(Usings + """
            [AliciaMessage("alicia/a/{x}/b")] public partial class A1 { public int V { get; set; } }
            [AliciaMessage("alicia/a/{y}/c")] public partial class A2 { public int V { get; set; } }
            """);
        Assert.Equal(3, result.HintNames.Count());
    }
}
