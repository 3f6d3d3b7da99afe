using System.Collections.Generic;
using System.Linq;
using Alicia.Generators.Model;

namespace Alicia.Generators.Emit
{
    /// <summary>
    /// Emits a message's topic members: pattern, filter, default kind, and span-based builders and parsers
    /// that refuse topic injection (a parameter holding '/', '+', '#' or NUL).
    /// </summary>
    internal static class TopicMembersEmitter
    {
        private const string Forbidden = "\"/+#\\0\"";
        private const string ForbiddenInSegment = "\"+#\\0\"u8";

        public static void Emit(CodeWriter w, ContractModel model)
        {
            MessageModel message = model.Message!;
            List<TopicSegment> segments = message.Segments.ToList();
            List<TopicSegment> parameters = segments.Where(s => s.IsParameter).ToList();
            List<string> literals = Literals(segments);

            w.Line($"/// <summary>The topic pattern: <c>{Xml(message.Pattern)}</c>.</summary>");
            w.Line($"public const string Topic = {Literal.String(message.Pattern)};");
            w.Line();
            w.Line("public static string TopicPattern => Topic;");
            w.Line();
            w.Line($"/// <summary>The MQTT subscription filter: <c>{Xml(message.Filter)}</c>.</summary>");
            w.Line($"public static string TopicFilter => {Literal.String(message.Filter)};");
            w.Line();
            w.Line($"public static {Names.MessageKind} DefaultKind => {message.KindExpression};");
            w.Line();

            string paramList = string.Concat(parameters.Select(p => $", {Names.ReadOnlySpan}<char> {p.ParameterName}"));
            string paramArgs = string.Join(", ", parameters.Select(p => $"{Names.ReadOnlySpan}<char> {p.ParameterName}"));
            int literalBytes = literals.Sum(Literal.Utf8Length);
            int literalChars = literals.Sum(l => l.Length);

            if (parameters.Count == 0)
            {
                w.Line($"public static {Names.ReadOnlySpan}<byte> TopicUtf8 => {Literal.Utf8(message.Pattern)};");
                w.Line();
            }

            // MaxTopicBytes
            w.Line("/// <summary>The most UTF-8 bytes the topic can take for parameters of the given lengths in chars.</summary>");
            w.Line($"public static int MaxTopicBytes({string.Join(", ", parameters.Select(p => "int " + p.ParameterName + "Length"))}) => {literalBytes}{string.Concat(parameters.Select(p => $" + 3 * {p.ParameterName}Length"))};");
            w.Line();

            // TryFormatTopic
            w.Line("/// <summary>Writes the UTF-8 topic into <paramref name=\"destination\"/>; false if it is too small.</summary>");
            w.Line("/// <exception cref=\"System.ArgumentException\">A parameter is empty or holds '/', '+', '#' or NUL.</exception>");
            w.Open($"public static bool TryFormatTopic({Names.Span}<byte> destination{paramList}, out int bytesWritten)");
            EmitValidation(w, parameters);
            w.Line("bytesWritten = 0;");
            w.Line("int position = 0;");
            int literalIndex = 0;
            foreach (TopicSegment part in Parts(segments))
            {
                if (part.IsParameter)
                {
                    string n = w.Temp("n");
                    w.Line($"if (!{Names.Utf8}.TryGetBytes({part.ParameterName}, destination.Slice(position), out int {n})) return false;");
                    w.Line($"position += {n};");
                }
                else
                {
                    string lit = literals[literalIndex++];
                    w.Line($"if (!{Literal.Utf8(lit)}.TryCopyTo(destination.Slice(position))) return false;");
                    w.Line($"position += {Literal.Utf8Length(lit)};");
                }
            }
            w.Line("bytesWritten = position;");
            w.Line("return true;");
            w.Close();
            w.Line();

            // BuildTopic
            w.Line("/// <summary>The topic as a string (allocates it).</summary>");
            if (parameters.Count == 0)
            {
                w.Line("public static string BuildTopic() => Topic;");
            }
            else
            {
                w.Open($"public static string BuildTopic({paramArgs})");
                EmitValidation(w, parameters);
                w.Line($"int length = {literalChars}{string.Concat(parameters.Select(p => $" + {p.ParameterName}.Length"))};");
                w.Line("char[]? rented = null;");
                w.Line($"{Names.Span}<char> buffer = length <= 256 ? stackalloc char[256] : (rented = global::System.Buffers.ArrayPool<char>.Shared.Rent(length));");
                w.Line("int position = 0;");
                literalIndex = 0;
                foreach (TopicSegment part in Parts(segments))
                {
                    if (part.IsParameter)
                    {
                        w.Line($"{part.ParameterName}.CopyTo(buffer.Slice(position));");
                        w.Line($"position += {part.ParameterName}.Length;");
                    }
                    else
                    {
                        string lit = literals[literalIndex++];
                        w.Line($"{Names.Memory}.AsSpan({Literal.String(lit)}).CopyTo(buffer.Slice(position));");
                        w.Line($"position += {lit.Length};");
                    }
                }
                w.Line("string topic = new string(buffer.Slice(0, position));");
                w.Line("if (rented is not null) global::System.Buffers.ArrayPool<char>.Shared.Return(rented);");
                w.Line("return topic;");
                w.Close();
            }
            w.Line();

            // TryParseTopic
            if (parameters.Count == 0)
            {
                w.Line("/// <summary>True when <paramref name=\"topic\"/> is exactly this message's topic.</summary>");
                w.Line($"public static bool TryParseTopic({Names.ReadOnlySpan}<byte> topic) => {Names.Memory}.SequenceEqual(topic, TopicUtf8);");
                return;
            }
            string outs = string.Concat(parameters.Select(p => $", out {Names.Range} {p.ParameterName}"));
            w.Line("/// <summary>Matches <paramref name=\"topic\"/> against the pattern and returns where each parameter lies in it.</summary>");
            w.Open($"public static bool TryParseTopic({Names.ReadOnlySpan}<byte> topic{outs})");
            foreach (TopicSegment p in parameters) w.Line($"{p.ParameterName} = default;");
            w.Line("int position = 0;");
            literalIndex = 0;
            foreach (TopicSegment part in Parts(segments))
            {
                if (part.IsParameter)
                {
                    string len = w.Temp("len");
                    w.Line($"int {len} = {Names.Memory}.IndexOf(topic.Slice(position), (byte)'/');");
                    w.Line($"if ({len} < 0) {len} = topic.Length - position;");
                    w.Line($"if ({len} == 0 || {Names.Memory}.IndexOfAny(topic.Slice(position, {len}), {ForbiddenInSegment}) >= 0) return false;");
                    w.Line($"{Names.Range} {Local(part)} = new {Names.Range}(position, position + {len});");
                    w.Line($"position += {len};");
                }
                else
                {
                    string lit = literals[literalIndex++];
                    w.Line($"if (!{Names.Memory}.StartsWith(topic.Slice(position), {Literal.Utf8(lit)})) return false;");
                    w.Line($"position += {Literal.Utf8Length(lit)};");
                }
            }
            // The ranges are only handed out for a full match.
            w.Line("if (position != topic.Length) return false;");
            foreach (TopicSegment p in parameters) w.Line($"{p.ParameterName} = {Local(p)};");
            w.Line("return true;");
            w.Close();
        }

        private static string Local(TopicSegment parameter) => "__" + parameter.ParameterName!.TrimStart('@') + "Range";

        private static void EmitValidation(CodeWriter w, List<TopicSegment> parameters)
        {
            foreach (TopicSegment p in parameters)
            {
                string name = p.ParameterName!.TrimStart('@');
                w.Line($"if ({p.ParameterName}.IsEmpty || {Names.Memory}.IndexOfAny({p.ParameterName}, {Forbidden}) >= 0)");
                w.Line($"    throw new {Names.ArgumentException}({Literal.String($"topic parameter '{name}' must be a non-empty segment without '/', '+', '#' or NUL")}, {Literal.String(name)});");
            }
        }

        /// <summary>
        /// The pattern as alternating literal runs and parameters: literal runs include their slashes
        /// (<c>alicia/devices/</c>, <c>/status</c>).
        /// </summary>
        private static IEnumerable<TopicSegment> Parts(List<TopicSegment> segments)
        {
            var literal = new System.Text.StringBuilder();
            for (int i = 0; i < segments.Count; i++)
            {
                if (i > 0) literal.Append('/');
                if (segments[i].IsParameter)
                {
                    if (literal.Length > 0) { yield return new TopicSegment(false, literal.ToString(), null); literal.Clear(); }
                    yield return segments[i];
                }
                else
                {
                    literal.Append(segments[i].Text);
                }
            }
            if (literal.Length > 0) yield return new TopicSegment(false, literal.ToString(), null);
        }

        private static List<string> Literals(List<TopicSegment> segments) =>
            Parts(segments).Where(p => !p.IsParameter).Select(p => p.Text).ToList();

        private static string Xml(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
    }
}
