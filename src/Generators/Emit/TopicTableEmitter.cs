using System.Collections.Generic;
using System.Linq;
using Alicia.Generators.Model;

namespace Alicia.Generators.Emit
{
    /// <summary>
    /// Emits the per-compilation topic tree: AliciaTopics (constants), AliciaMessageId, AliciaTopicTable
    /// (zero-allocation matching) and AliciaDispatcher (topic to Visit&lt;T&gt;).
    /// </summary>
    internal static class TopicTableEmitter
    {
        public const string HintName = "AliciaTopics.g.cs";

        private sealed class Row
        {
            public Row(TopicEntry entry, string id) { Entry = entry; Id = id; }
            public TopicEntry Entry { get; }
            public string Id { get; }
            public int SegmentCount => Entry.Segments.Count;
        }

        public static string Emit(IReadOnlyList<TopicEntry> entries, string ns)
        {
            List<Row> rows = Rows(entries);
            string id = $"global::{ns}.AliciaMessageId";
            var w = new CodeWriter();
            w.Line(Names.Header);
            w.Line($"namespace {ns};");
            w.Line();

            // AliciaTopics
            w.Line("/// <summary>The topic pattern of every message type of this assembly.</summary>");
            w.Open("public static partial class AliciaTopics");
            foreach (Row r in rows) w.Line($"public const string {r.Id} = {Literal.String(r.Entry.Pattern)};");
            w.Line();
            w.Line("/// <summary>Every message type: its name, pattern and MQTT subscription filter.</summary>");
            w.Line("public static global::System.Collections.Generic.IReadOnlyList<(string Name, string Pattern, string Filter)> All { get; } =");
            w.Open("new (string Name, string Pattern, string Filter)[]");
            foreach (Row r in rows) w.Line($"({Literal.String(r.Entry.TypeName)}, {Literal.String(r.Entry.Pattern)}, {Literal.String(r.Entry.Filter)}),");
            w.Close(";");
            w.Close();
            w.Line();

            // AliciaMessageId
            w.Line("/// <summary>One value per message type, ordered by type name.</summary>");
            w.Open("public enum AliciaMessageId");
            w.Line("None = 0,");
            foreach (Row r in rows) w.Line($"{r.Id},");
            w.Close();
            w.Line();

            // AliciaTopicTable
            w.Line("/// <summary>Matches concrete topics to message types, segment by segment, without allocating.</summary>");
            w.Open("public static class AliciaTopicTable");
            w.Line("/// <summary>The message type whose pattern <paramref name=\"topic\"/> matches; a placeholder matches one non-empty segment.</summary>");
            w.Open($"public static bool TryMatch({Names.ReadOnlySpan}<byte> topic, out {id} id)");
            w.Line($"id = {id}.None;");
            w.Open("switch (global::System.MemoryExtensions.Count(topic, (byte)'/') + 1)");
            foreach (IGrouping<int, Row> group in rows.GroupBy(r => r.SegmentCount).OrderBy(g => g.Key))
            {
                w.Line($"case {group.Key}:");
                w.Line("{");
                // The most specific pattern wins: literals before placeholders, segment by segment.
                foreach (Row r in group.OrderBy(r => r, SpecificityComparer.Instance))
                {
                    string outs = string.Concat(Enumerable.Repeat(", out _", r.Entry.Segments.Count(s => s.IsParameter)));
                    w.Line($"    if ({r.Entry.FullName}.TryParseTopic(topic{outs})) {{ id = {id}.{r.Id}; return true; }}");
                }
                w.Line("    return false;");
                w.Line("}");
            }
            w.Line("default:");
            w.Line("    return false;");
            w.Close();
            w.Close();
            w.Line();
            EmitSwitch(w, "PatternOf", "string", id, rows, r => Literal.String(r.Entry.Pattern));
            w.Line();
            EmitSwitch(w, "FilterOf", "string", id, rows, r => Literal.String(r.Entry.Filter));
            w.Line();
            EmitSwitch(w, "DefaultKindOf", Names.MessageKind, id, rows, r => r.Entry.KindExpression);
            w.Line();
            EmitSwitch(w, "TypeOf", "global::System.Type", id, rows, r => $"typeof({r.Entry.FullName})");
            w.Close();
            w.Line();

            // AliciaDispatcher
            w.Line("/// <summary>Routes a received message to <see cref=\"global::Alicia.Contracts.IMessageVisitor.Visit{T}\"/> by its topic.</summary>");
            w.Open("public static class AliciaDispatcher");
            w.Line("/// <summary>Matches the topic and calls <c>visitor.Visit&lt;T&gt;</c>; false when no pattern matches.</summary>");
            w.Open($"public static bool TryDispatch<TVisitor>({Names.ReadOnlySpan}<byte> topic, {Names.ReadOnlySpan}<byte> payload, ref TVisitor visitor) where TVisitor : {Names.Visitor}");
            w.Line("return global::" + ns + ".AliciaTopicTable.TryMatch(topic, out " + id + " id) && Dispatch(id, topic, payload, ref visitor);");
            w.Close();
            w.Line();
            w.Line("/// <summary>Calls <c>visitor.Visit&lt;T&gt;</c> for an already matched message id; false for <see cref=\"AliciaMessageId.None\"/>.</summary>");
            w.Open($"public static bool Dispatch<TVisitor>({id} id, {Names.ReadOnlySpan}<byte> topic, {Names.ReadOnlySpan}<byte> payload, ref TVisitor visitor) where TVisitor : {Names.Visitor}");
            w.Open("switch (id)");
            foreach (Row r in rows)
            {
                w.Line($"case {id}.{r.Id}:");
                w.Line($"    visitor.Visit<{r.Entry.FullName}>(topic, payload);");
                w.Line("    return true;");
            }
            w.Line("default:");
            w.Line("    return false;");
            w.Close();
            w.Close();
            w.Close();
            w.Line();

            // AliciaMessageSet: this assembly's types as one composable set for the bus.
            w.Line("/// <summary>This assembly's message types as a <see cref=\"global::Alicia.Contracts.MessageSet\"/>, to combine with Alicia's on the bus.</summary>");
            w.Open("public sealed class AliciaMessageSet : global::Alicia.Contracts.MessageSet");
            w.Line("/// <summary>The one instance.</summary>");
            w.Line("public static readonly AliciaMessageSet Instance = new AliciaMessageSet();");
            w.Line();
            w.Line("private AliciaMessageSet() { }");
            w.Line();
            w.Line("/// <inheritdoc/>");
            w.Line("public override global::System.Collections.Generic.IReadOnlyList<(string Name, string Pattern, string Filter)> Topics => global::" + ns + ".AliciaTopics.All;");
            w.Line();
            w.Line("/// <inheritdoc/>");
            w.Line($"public override bool TryDispatch<TVisitor>({Names.ReadOnlySpan}<byte> topic, {Names.ReadOnlySpan}<byte> payload, ref TVisitor visitor) => global::" + ns + ".AliciaDispatcher.TryDispatch(topic, payload, ref visitor);");
            w.Close();
            return w.ToString();
        }

        private static void EmitSwitch(CodeWriter w, string name, string type, string id, List<Row> rows, System.Func<Row, string> value)
        {
            w.Open($"public static {type} {name}({id} id) => id switch");
            foreach (Row r in rows) w.Line($"{id}.{r.Id} => {value(r)},");
            w.Line("_ => throw new global::System.ArgumentOutOfRangeException(nameof(id), id, \"not a message id\"),");
            w.Close(";");
        }

        /// <summary>Orders by type name; a simple name used twice gets its namespace folded in.</summary>
        private static List<Row> Rows(IReadOnlyList<TopicEntry> entries)
        {
            var sorted = entries.OrderBy(e => e.TypeName, System.StringComparer.Ordinal).ThenBy(e => e.FullName, System.StringComparer.Ordinal).ToList();
            var counts = sorted.GroupBy(e => e.TypeName).ToDictionary(g => g.Key, g => g.Count());
            var used = new HashSet<string> { "None", "All" };
            var rows = new List<Row>(sorted.Count);
            foreach (TopicEntry e in sorted)
            {
                string name = counts[e.TypeName] > 1
                    ? Parsing.Naming.ToIdentifier(e.FullName.Replace("global::", "").Replace('.', '_'))
                    : e.TypeName;
                string unique = name;
                for (int i = 2; !used.Add(unique); i++) unique = name + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                rows.Add(new Row(e, unique));
            }
            return rows;
        }

        private sealed class SpecificityComparer : IComparer<Row>
        {
            public static readonly SpecificityComparer Instance = new SpecificityComparer();

            public int Compare(Row? x, Row? y)
            {
                for (int i = 0; i < x!.Entry.Segments.Count && i < y!.Entry.Segments.Count; i++)
                {
                    bool px = x.Entry.Segments[i].IsParameter, py = y.Entry.Segments[i].IsParameter;
                    if (px != py) return px ? 1 : -1;
                }
                return string.CompareOrdinal(x.Id, y!.Id);
            }
        }
    }
}
