using Alicia.Generators.Model;

namespace Alicia.Generators.Emit
{
    /// <summary>Emits the MessagePack writer of a contract: a map keyed by wire names; allocation-free.</summary>
    internal static class MsgPackWriteEmitter
    {
        public static void Emit(CodeWriter w, ContractModel model)
        {
            w.Open($"public static void Write(ref {Names.Writer} writer, {model.FullName} value)");
            if (!model.IsValueType)
            {
                w.Line("if (value is null)").Open().Line("writer.WriteNil();").Line("return;").Close();
            }
            w.Line($"writer.WriteMapHeader({model.Members.Count});");
            foreach (MemberModel m in model.Members)
            {
                w.Line($"writer.WriteString({Literal.Utf8(m.WireName)});");
                WriteValue(w, m.Type, "value." + m.PropertyName);
            }
            w.Close();
        }

        /// <summary>Writes <paramref name="expr"/> (evaluated once) of the given shape.</summary>
        private static void WriteValue(CodeWriter w, TypeShape shape, string expr)
        {
            if (shape.IsNullable && shape.IsValueType)
            {
                string v = w.Temp("v");
                w.Open($"if ({expr} is {{ }} {v})");
                WriteCore(w, shape, v);
                w.Close().Line("else").Open().Line("writer.WriteNil();").Close();
                return;
            }
            WriteCore(w, shape, expr);
        }

        private static void WriteCore(CodeWriter w, TypeShape shape, string expr)
        {
            switch (shape.Kind)
            {
                case ShapeKind.Enum:
                    w.Line($"writer.WriteString({shape.Helper}.ToUtf8({expr}));");
                    return;
                case ShapeKind.Contract:
                    WriteContract(w, shape, expr);
                    return;
                case ShapeKind.List:
                case ShapeKind.Array:
                case ShapeKind.ReadOnlyList:
                case ShapeKind.IList:
                    WriteSequence(w, shape, expr);
                    return;
                case ShapeKind.Dictionary:
                case ShapeKind.ReadOnlyDictionary:
                case ShapeKind.IDictionary:
                    WriteMap(w, shape, expr);
                    return;
                default:
                    // Primitives, string, Guid, DateTimeOffset, DateTime, TimeSpan, byte[]: MsgPackWriter overloads (null -> nil).
                    w.Line($"writer.Write({expr});");
                    return;
            }
        }

        private static void WriteContract(CodeWriter w, TypeShape shape, string expr)
        {
            if (shape.IsValueType || !shape.IsNullable)
            {
                w.Line($"{shape.TypeName}.Write(ref writer, {expr});");
                return;
            }
            string v = w.Temp("v");
            w.Line($"{shape.TypeName}? {v} = {expr};");
            w.Line($"if ({v} is null) writer.WriteNil(); else {shape.TypeName}.Write(ref writer, {v});");
        }

        private static void WriteSequence(CodeWriter w, TypeShape shape, string expr)
        {
            string c = w.Temp("c");
            w.Line($"{shape.TypeName}? {c} = {expr};");
            w.Line($"if ({c} is null)").Open().Line("writer.WriteNil();").Close().Line("else").Open();
            bool isArray = shape.Kind == ShapeKind.Array;
            w.Line($"writer.WriteArrayHeader({c}.{(isArray ? "Length" : "Count")});");
            if (shape.Kind is ShapeKind.List or ShapeKind.Array)
            {
                // List<T> and T[] enumerate without allocating.
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
            w.Close();
        }

        private static void WriteMap(CodeWriter w, TypeShape shape, string expr)
        {
            string c = w.Temp("c");
            string valueType = shape.Element!.DeclaredName;
            string concrete = $"{Names.Dictionary}<string, {valueType}>";
            w.Line($"{shape.TypeName}? {c} = {expr};");
            w.Line($"if ({c} is null)").Open().Line("writer.WriteNil();").Close().Line("else").Open();
            w.Line($"writer.WriteMapHeader({c}.Count);");
            if (shape.Kind == ShapeKind.Dictionary)
            {
                Loop(c);
            }
            else
            {
                // Enumerate a Dictionary through its struct enumerator; only other implementations box one.
                string d = w.Temp("d");
                w.Open($"if ({c} is {concrete} {d})");
                Loop(d);
                w.Close().Line("else").Open();
                Loop(c);
                w.Close();
            }
            w.Close();

            void Loop(string source)
            {
                string kv = w.Temp("kv");
                w.Open($"foreach ({Names.KeyValuePair}<string, {valueType}> {kv} in {source})");
                w.Line($"writer.Write({kv}.Key);");
                WriteValue(w, shape.Element!, kv + ".Value");
                w.Close();
            }
        }
    }
}
