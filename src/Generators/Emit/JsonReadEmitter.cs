using Alicia.Generators.Model;

namespace Alicia.Generators.Emit
{
    /// <summary>
    /// Emits the JSON reader of a contract. It starts on the object's StartObject token and ends on its
    /// EndObject; unknown properties are skipped; a token of the wrong type is a JsonException naming the field.
    /// </summary>
    internal static class JsonReadEmitter
    {
        private const string Token = Names.JsonToken;

        public static void Emit(CodeWriter w, ContractModel model)
        {
            string truncated = $"throw new {Names.JsonException}({Literal.String("unexpected end of JSON in " + model.Name)});";
            w.Open($"public static {model.FullName} ReadJson(ref {Names.JsonReader} reader)");
            w.Line($"if (reader.TokenType != {Token}.StartObject) throw new {Names.JsonException}($\"expected a JSON object for {Literal.Inner(model.Name)}, found {{reader.TokenType}}\");");
            w.Line($"var result = new {model.FullName}();");
            w.Open("while (true)");
            w.Line($"if (!reader.Read()) {truncated}");
            w.Line($"if (reader.TokenType == {Token}.EndObject) return result;");
            w.Line($"if (reader.TokenType != {Token}.PropertyName) throw new {Names.JsonException}($\"expected a property name in {Literal.Inner(model.Name)}, found {{reader.TokenType}}\");");
            bool first = true;
            foreach (MemberModel m in model.Members)
            {
                w.Open($"{(first ? "" : "else ")}if (reader.ValueTextEquals({Literal.Utf8(m.WireName)}))");
                w.Line($"if (!reader.Read()) {truncated}");
                string field = $"field '{m.WireName}' of {model.Name}";
                string value = ReadValue(w, m.Type, field, false);
                w.Line($"result.{m.PropertyName} = {value};");
                w.Close();
                first = false;
            }
            w.Line(first ? "" : "else").Open();
            w.Line($"if (!reader.Read() || !reader.TrySkip()) {truncated}");
            w.Close();
            w.Close();
            w.Close();
        }

        /// <param name="field">Names the field in error messages.</param>
        /// <param name="isElement">Reading an element of a collection member (changes the null message).</param>
        private static string ReadValue(CodeWriter w, TypeShape shape, string field, bool isElement)
        {
            string nullError = $"new {Names.JsonException}({Literal.String(field + (isElement ? " must not contain null" : " must not be null"))})";
            if (shape.IsCollection) return ReadCollection(w, shape, field, nullError);

            string core = ReadCore(w, shape, field);
            if (shape.IsNullable)
                return $"reader.TokenType == {Token}.Null ? null : " + (shape.IsValueType ? $"({shape.TypeName}?)({core})" : $"({core})");
            if (!shape.IsValueType)
                return $"reader.TokenType == {Token}.Null ? throw {nullError} : {core}";
            return core;
        }

        private static string Expected(string field, string what) =>
            $"new {Names.JsonException}($\"{Literal.Inner(field)}: expected {what}, found {{reader.TokenType}}\")";

        private static string ReadCore(CodeWriter w, TypeShape shape, string field)
        {
            switch (shape.Kind)
            {
                case ShapeKind.Boolean:
                    return $"reader.TokenType == {Token}.True ? true : reader.TokenType == {Token}.False ? false : throw {Expected(field, "a boolean")}";
                case ShapeKind.Byte: return Number(w, "byte", "TryGetByte", field, "a byte");
                case ShapeKind.SByte: return Number(w, "sbyte", "TryGetSByte", field, "an sbyte");
                case ShapeKind.Int16: return Number(w, "short", "TryGetInt16", field, "an int16");
                case ShapeKind.UInt16: return Number(w, "ushort", "TryGetUInt16", field, "a uint16");
                case ShapeKind.Int32: return Number(w, "int", "TryGetInt32", field, "an int32");
                case ShapeKind.UInt32: return Number(w, "uint", "TryGetUInt32", field, "a uint32");
                case ShapeKind.Int64: return Number(w, "long", "TryGetInt64", field, "an int64");
                case ShapeKind.UInt64: return Number(w, "ulong", "TryGetUInt64", field, "a uint64");
                case ShapeKind.Single: return Number(w, "float", "TryGetSingle", field, "a number");
                case ShapeKind.Double: return Number(w, "double", "TryGetDouble", field, "a number");
                case ShapeKind.TimeSpan:
                {
                    string t = w.Temp("t");
                    return $"reader.TokenType == {Token}.Number && reader.TryGetInt64(out long {t}) ? new global::System.TimeSpan({t}) : throw {Expected(field, "a number of ticks")}";
                }
                case ShapeKind.String:
                    return $"reader.TokenType == {Token}.String ? reader.GetString()! : throw {Expected(field, "a string")}";
                case ShapeKind.Guid: return Text(w, "global::System.Guid", "TryGetGuid", field, "a UUID string");
                case ShapeKind.DateTimeOffset: return Text(w, "global::System.DateTimeOffset", "TryGetDateTimeOffset", field, "an ISO-8601 date string");
                case ShapeKind.DateTime: return Text(w, "global::System.DateTime", "TryGetDateTime", field, "an ISO-8601 date string");
                case ShapeKind.Binary: return Text(w, "byte[]?", "TryGetBytesFromBase64", field, "a base64 string");
                case ShapeKind.Enum: return $"{shape.Helper}.ReadJson(ref reader, {Literal.String(field)})";
                case ShapeKind.Contract: return $"{shape.TypeName}.ReadJson(ref reader)";
                default: throw new System.InvalidOperationException("not a scalar shape: " + shape.Kind);
            }
        }

        private static string Number(CodeWriter w, string type, string method, string field, string what)
        {
            string t = w.Temp("t");
            return $"reader.TokenType == {Token}.Number && reader.{method}(out {type} {t}) ? {t} : throw {Expected(field, what)}";
        }

        private static string Text(CodeWriter w, string type, string method, string field, string what)
        {
            string t = w.Temp("t");
            return $"reader.TokenType == {Token}.String && reader.{method}(out {type} {t}) ? {t} : throw {Expected(field, what)}";
        }

        private static string ReadCollection(CodeWriter w, TypeShape shape, string field, string nullError)
        {
            string truncated = $"throw new {Names.JsonException}({Literal.String("unexpected end of JSON in " + field)});";
            string target = w.Temp("c");
            TypeShape element = shape.Element!;
            w.Line($"{shape.DeclaredName} {target};");
            w.Line($"if (reader.TokenType == {Token}.Null)").Open().Line(shape.IsNullable ? $"{target} = null;" : $"throw {nullError};").Close();
            w.Line("else").Open();
            if (shape.IsDictionary)
            {
                string map = w.Temp("map");
                w.Line($"if (reader.TokenType != {Token}.StartObject) throw {Expected(field, "an object")};");
                w.Line($"var {map} = new {Names.Dictionary}<string, {element.DeclaredName}>();");
                w.Open("while (true)");
                w.Line($"if (!reader.Read()) {truncated}");
                w.Line($"if (reader.TokenType == {Token}.EndObject) break;");
                string k = w.Temp("k");
                w.Line($"string {k} = reader.GetString()!;");
                w.Line($"if (!reader.Read()) {truncated}");
                string value = ReadValue(w, element, field, true);
                w.Line($"{map}[{k}] = {value};");
                w.Close();
                w.Line($"{target} = {map};");
            }
            else
            {
                string list = w.Temp("list");
                w.Line($"if (reader.TokenType != {Token}.StartArray) throw {Expected(field, "an array")};");
                w.Line($"var {list} = new {Names.List}<{element.DeclaredName}>();");
                w.Open("while (true)");
                w.Line($"if (!reader.Read()) {truncated}");
                w.Line($"if (reader.TokenType == {Token}.EndArray) break;");
                string value = ReadValue(w, element, field, true);
                w.Line($"{list}.Add({value});");
                w.Close();
                w.Line(shape.Kind == ShapeKind.Array ? $"{target} = {list}.ToArray();" : $"{target} = {list};");
            }
            w.Close();
            return target;
        }
    }
}
