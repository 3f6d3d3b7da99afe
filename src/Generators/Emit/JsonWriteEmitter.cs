using Alicia.Generators.Model;

namespace Alicia.Generators.Emit
{
    /// <summary>
    /// Emits the JSON writer of a contract: an object keyed by wire names. byte[] is base64, Guid "D",
    /// DateTimeOffset/DateTime ISO-8601, TimeSpan ticks, enums their snake_case names, null as null.
    /// </summary>
    internal static class JsonWriteEmitter
    {
        public static void Emit(CodeWriter w, ContractModel model)
        {
            w.Open($"public static void WriteJson({Names.JsonWriter} writer, {model.FullName} value)");
            if (!model.IsValueType)
            {
                w.Line("if (value is null)").Open().Line("writer.WriteNullValue();").Line("return;").Close();
            }
            w.Line("writer.WriteStartObject();");
            foreach (MemberModel m in model.Members)
            {
                w.Line($"writer.WritePropertyName({Literal.Utf8(m.WireName)});");
                WriteValue(w, m.Type, "value." + m.PropertyName);
            }
            w.Line("writer.WriteEndObject();");
            w.Close();
        }

        private static void WriteValue(CodeWriter w, TypeShape shape, string expr)
        {
            if (shape.IsNullable && shape.IsValueType)
            {
                string v = w.Temp("v");
                w.Open($"if ({expr} is {{ }} {v})");
                WriteCore(w, shape, v);
                w.Close().Line("else").Open().Line("writer.WriteNullValue();").Close();
                return;
            }
            WriteCore(w, shape, expr);
        }

        private static void WriteCore(CodeWriter w, TypeShape shape, string expr)
        {
            switch (shape.Kind)
            {
                case ShapeKind.Boolean: w.Line($"writer.WriteBooleanValue({expr});"); return;
                case ShapeKind.Byte:
                case ShapeKind.UInt16:
                    w.Line($"writer.WriteNumberValue((uint){expr});"); return;
                case ShapeKind.SByte:
                case ShapeKind.Int16:
                    w.Line($"writer.WriteNumberValue((int){expr});"); return;
                case ShapeKind.Int32:
                case ShapeKind.UInt32:
                case ShapeKind.Int64:
                case ShapeKind.UInt64:
                case ShapeKind.Single:
                case ShapeKind.Double:
                    w.Line($"writer.WriteNumberValue({expr});"); return;
                case ShapeKind.TimeSpan: w.Line($"writer.WriteNumberValue({expr}.Ticks);"); return;
                case ShapeKind.String:
                case ShapeKind.Guid:
                case ShapeKind.DateTimeOffset:
                case ShapeKind.DateTime:
                    // Utf8JsonWriter writes null for a null string, "D" for Guid and ISO-8601 (round-trip) for dates.
                    w.Line($"writer.WriteStringValue({expr});"); return;
                case ShapeKind.Binary:
                {
                    string b = w.Temp("b");
                    w.Line($"byte[]? {b} = {expr};");
                    w.Line($"if ({b} is null) writer.WriteNullValue(); else writer.WriteBase64StringValue({b});");
                    return;
                }
                case ShapeKind.Enum: w.Line($"writer.WriteStringValue({shape.Helper}.ToUtf8({expr}));"); return;
                case ShapeKind.Contract: WriteContract(w, shape, expr); return;
                case ShapeKind.Dictionary:
                case ShapeKind.ReadOnlyDictionary:
                case ShapeKind.IDictionary:
                    WriteMap(w, shape, expr); return;
                default:
                    WriteSequence(w, shape, expr); return;
            }
        }

        private static void WriteContract(CodeWriter w, TypeShape shape, string expr)
        {
            if (shape.IsValueType || !shape.IsNullable)
            {
                w.Line($"{shape.TypeName}.WriteJson(writer, {expr});");
                return;
            }
            string v = w.Temp("v");
            w.Line($"{shape.TypeName}? {v} = {expr};");
            w.Line($"if ({v} is null) writer.WriteNullValue(); else {shape.TypeName}.WriteJson(writer, {v});");
        }

        private static void WriteSequence(CodeWriter w, TypeShape shape, string expr)
        {
            string c = w.Temp("c");
            w.Line($"{shape.TypeName}? {c} = {expr};");
            w.Line($"if ({c} is null)").Open().Line("writer.WriteNullValue();").Close().Line("else").Open();
            w.Line("writer.WriteStartArray();");
            if (shape.Kind is ShapeKind.List or ShapeKind.Array)
            {
                string e = w.Temp("e");
                w.Open($"foreach ({shape.Element!.DeclaredName} {e} in {c})");
                WriteValue(w, shape.Element, e);
                w.Close();
            }
            else
            {
                string i = w.Temp("i");
                w.Open($"for (int {i} = 0; {i} < {c}.Count; {i}++)");
                WriteValue(w, shape.Element!, $"{c}[{i}]");
                w.Close();
            }
            w.Line("writer.WriteEndArray();");
            w.Close();
        }

        private static void WriteMap(CodeWriter w, TypeShape shape, string expr)
        {
            string c = w.Temp("c");
            string valueType = shape.Element!.DeclaredName;
            w.Line($"{shape.TypeName}? {c} = {expr};");
            w.Line($"if ({c} is null)").Open().Line("writer.WriteNullValue();").Close().Line("else").Open();
            w.Line("writer.WriteStartObject();");
            string kv = w.Temp("kv");
            w.Open($"foreach ({Names.KeyValuePair}<string, {valueType}> {kv} in {c})");
            w.Line($"writer.WritePropertyName({kv}.Key);");
            WriteValue(w, shape.Element!, kv + ".Value");
            w.Close();
            w.Line("writer.WriteEndObject();");
            w.Close();
        }
    }
}
