using Alicia.Generators.Model;

namespace Alicia.Generators.Emit
{
    /// <summary>
    /// Emits the MessagePack reader of a contract. Keys are matched on their UTF-8 bytes; unknown keys are
    /// skipped; nil for a non-nullable reference member is an error naming the field.
    /// </summary>
    internal static class MsgPackReadEmitter
    {
        public static void Emit(CodeWriter w, ContractModel model)
        {
            w.Open($"public static {model.FullName} Read(ref {Names.Reader} reader)");
            if (!model.IsValueType)
            {
                w.Line($"if (reader.IsNil) throw new {Names.MsgPackException}({Literal.String(model.Name + " must not be nil")});");
            }
            w.Line("reader.EnterNested();");
            w.Line($"var result = new {model.FullName}();");
            w.Line("int count = reader.ReadMapHeader();");
            w.Open("for (int index = 0; index < count; index++)");
            w.Line($"{Names.ReadOnlySpan}<byte> key = reader.ReadStringSpan();");
            bool first = true;
            foreach (MemberModel m in model.Members)
            {
                w.Open($"{(first ? "" : "else ")}if ({Names.Memory}.SequenceEqual(key, {Literal.Utf8(m.WireName)}))");
                string field = $"field '{m.WireName}' of {model.Name}";
                string value = ReadValue(w, m.Type, field + " must not be nil", field + " must not contain nil");
                w.Line($"result.{m.PropertyName} = {value};");
                w.Close();
                first = false;
            }
            if (first) w.Line("reader.Skip();");
            else w.Line("else").Open().Line("reader.Skip();").Close();
            w.Close();
            w.Line("reader.ExitNested();");
            w.Line("return result;");
            w.Close();
        }

        /// <summary>Emits any statements the read needs and returns the expression of the value read.</summary>
        private static string ReadValue(CodeWriter w, TypeShape shape, string nilMessage, string elementNilMessage)
        {
            string nilError = $"new {Names.MsgPackException}({Literal.String(nilMessage)})";
            if (shape.IsCollection) return ReadCollection(w, shape, nilError, elementNilMessage);

            string core = ReadCore(shape, nilError);
            if (shape.IsValueType)
                return shape.IsNullable ? $"reader.TryReadNil() ? null : ({shape.TypeName}?){core}" : core;
            return shape.Kind switch
            {
                // ReadString/ReadBinary already map nil to null.
                ShapeKind.String or ShapeKind.Binary => shape.IsNullable ? core : $"{core} ?? throw {nilError}",
                _ => shape.IsNullable ? $"reader.TryReadNil() ? null : {core}" : $"reader.IsNil ? throw {nilError} : {core}",
            };
        }

        private static string ReadCore(TypeShape shape, string nilError) => shape.Kind switch
        {
            ShapeKind.Boolean => "reader.ReadBoolean()",
            ShapeKind.Byte => "reader.ReadByte()",
            ShapeKind.SByte => "reader.ReadSByte()",
            ShapeKind.Int16 => "reader.ReadInt16()",
            ShapeKind.UInt16 => "reader.ReadUInt16()",
            ShapeKind.Int32 => "reader.ReadInt32()",
            ShapeKind.UInt32 => "reader.ReadUInt32()",
            ShapeKind.Int64 => "reader.ReadInt64()",
            ShapeKind.UInt64 => "reader.ReadUInt64()",
            ShapeKind.Single => "reader.ReadSingle()",
            ShapeKind.Double => "reader.ReadDouble()",
            ShapeKind.String => "reader.ReadString()",
            ShapeKind.Guid => "reader.ReadGuid()",
            ShapeKind.DateTimeOffset => "reader.ReadDateTimeOffset()",
            ShapeKind.DateTime => "reader.ReadDateTime()",
            ShapeKind.TimeSpan => "reader.ReadTimeSpan()",
            ShapeKind.Binary => "reader.ReadBinary()",
            ShapeKind.Enum => $"{shape.Helper}.Parse(reader.ReadStringSpan())",
            ShapeKind.Contract => $"{shape.TypeName}.Read(ref reader)",
            _ => throw new System.InvalidOperationException("not a scalar shape: " + shape.Kind),
        };

        private static string ReadCollection(CodeWriter w, TypeShape shape, string nilError, string elementNilMessage)
        {
            string target = w.Temp("c");
            TypeShape element = shape.Element!;
            w.Line($"{shape.DeclaredName} {target};");
            w.Line("if (reader.TryReadNil())").Open().Line(shape.IsNullable ? $"{target} = null;" : $"throw {nilError};").Close();
            w.Line("else").Open();
            string n = w.Temp("n");
            string i = w.Temp("i");
            if (shape.IsDictionary)
            {
                string map = w.Temp("map");
                w.Line($"int {n} = reader.ReadMapHeader();");
                w.Line($"var {map} = new {Names.Dictionary}<string, {element.DeclaredName}>({n});");
                w.Open($"for (int {i} = 0; {i} < {n}; {i}++)");
                string k = w.Temp("k");
                w.Line($"string {k} = reader.ReadString() ?? throw new {Names.MsgPackException}({Literal.String(elementNilMessage.Replace(" contain nil", " contain a nil key"))});");
                string value = ReadValue(w, element, elementNilMessage, elementNilMessage);
                w.Line($"{map}[{k}] = {value};");
                w.Close();
                w.Line($"{target} = {map};");
            }
            else if (shape.Kind == ShapeKind.Array && element.DeclaredName.IndexOf('[') < 0)
            {
                string array = w.Temp("array");
                w.Line($"int {n} = reader.ReadArrayHeader();");
                w.Line($"var {array} = new {element.DeclaredName}[{n}];");
                w.Open($"for (int {i} = 0; {i} < {n}; {i}++)");
                string value = ReadValue(w, element, elementNilMessage, elementNilMessage);
                w.Line($"{array}[{i}] = {value};");
                w.Close();
                w.Line($"{target} = {array};");
            }
            else
            {
                string list = w.Temp("list");
                w.Line($"int {n} = reader.ReadArrayHeader();");
                w.Line($"var {list} = new {Names.List}<{element.DeclaredName}>({n});");
                w.Open($"for (int {i} = 0; {i} < {n}; {i}++)");
                string value = ReadValue(w, element, elementNilMessage, elementNilMessage);
                w.Line($"{list}.Add({value});");
                w.Close();
                w.Line(shape.Kind == ShapeKind.Array ? $"{target} = {list}.ToArray();" : $"{target} = {list};");
            }
            w.Close();
            return target;
        }
    }
}
