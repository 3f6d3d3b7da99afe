using Alicia.Generators.Model;

namespace Alicia.Generators.Emit
{
    /// <summary>Emits the wire-name helper of an enum: its members as snake_case strings, both ways.</summary>
    internal static class EnumHelperEmitter
    {
        public static string HintName(EnumModel model) => "WireNames." + model.HelperName + ".g.cs";

        public static string Emit(EnumModel model)
        {
            var w = new CodeWriter();
            w.Line(Names.Header);
            w.Line($"namespace {model.HelperNamespace};");
            w.Line();
            w.Line($"/// <summary>The wire names of <see cref=\"{model.FullName}\"/> (snake_case member names).</summary>");
            w.Line("[global::System.CodeDom.Compiler.GeneratedCode(\"Alicia.Generators\", \"1.0\")]");
            w.Open($"internal static class {model.HelperName}");

            w.Open($"public static {Names.ReadOnlySpan}<byte> ToUtf8({model.FullName} value) => value switch");
            foreach (EnumMemberModel m in model.Members)
                if (m.IsPrimary) w.Line($"{model.FullName}.{m.Name} => {Literal.Utf8(m.WireName)},");
            w.Line($"_ => throw new global::System.ArgumentOutOfRangeException(nameof(value), value, {Literal.String("not a named " + model.DisplayName + " value")}),");
            w.Close(";");
            w.Line();

            w.Open($"public static string ToName({model.FullName} value) => value switch");
            foreach (EnumMemberModel m in model.Members)
                if (m.IsPrimary) w.Line($"{model.FullName}.{m.Name} => {Literal.String(m.WireName)},");
            w.Line($"_ => throw new global::System.ArgumentOutOfRangeException(nameof(value), value, {Literal.String("not a named " + model.DisplayName + " value")}),");
            w.Close(";");
            w.Line();

            w.Open($"public static bool TryParse({Names.ReadOnlySpan}<byte> utf8, out {model.FullName} value)");
            foreach (EnumMemberModel m in model.Members)
                w.Line($"if ({Names.Memory}.SequenceEqual(utf8, {Literal.Utf8(m.WireName)})) {{ value = {model.FullName}.{m.Name}; return true; }}");
            w.Line("value = default;");
            w.Line("return false;");
            w.Close();
            w.Line();

            w.Open($"public static {model.FullName} Parse({Names.ReadOnlySpan}<byte> utf8)");
            w.Line($"if (TryParse(utf8, out {model.FullName} value)) return value;");
            w.Line($"throw new {Names.MsgPackException}($\"unknown {Literal.Inner(model.DisplayName)} value '{{(global::System.Text.Encoding.UTF8.GetString(utf8))}}'\");");
            w.Close();
            w.Line();

            w.Open($"public static {model.FullName} ReadJson(ref {Names.JsonReader} reader, string field)");
            w.Line($"if (reader.TokenType != {Names.JsonToken}.String) throw new {Names.JsonException}($\"{{field}}: expected a {Literal.Inner(model.DisplayName)} name, found {{reader.TokenType}}\");");
            w.Line($"{model.FullName} value;");
            w.Line("if (!reader.ValueIsEscaped && !reader.HasValueSequence)");
            w.Open().Line("if (TryParse(reader.ValueSpan, out value)) return value;").Close();
            w.Line($"else if (TryParse({Names.Utf8}.GetBytes(reader.GetString()!), out value))");
            w.Open().Line("return value;").Close();
            w.Line($"throw new {Names.JsonException}($\"{{field}}: unknown {Literal.Inner(model.DisplayName)} value '{{reader.GetString()}}'\");");
            w.Close();

            w.Close();
            return w.ToString();
        }
    }
}
