using System.Collections.Generic;
using System.Text;
using Alicia.Generators.Model;

namespace Alicia.Generators.Parsing
{
    /// <summary>Validates a topic pattern and splits it into literal and placeholder segments.</summary>
    internal static class TopicPatternParser
    {
        public const string Root = "alicia/";

        /// <summary>Names the generated topic members already use; a placeholder with one of these names gets a suffix.</summary>
        private static readonly HashSet<string> Reserved = new HashSet<string> { "destination", "bytesWritten", "topic" };

        /// <returns>The segments, or null with <paramref name="error"/> set.</returns>
        public static TopicSegment[]? Parse(string? pattern, out string? error)
        {
            error = null;
            if (string.IsNullOrEmpty(pattern)) { error = "the pattern is empty"; return null; }
            if (!pattern!.StartsWith(Root, System.StringComparison.Ordinal)) { error = "it must start with \"alicia/\""; return null; }
            if (pattern.IndexOf('+') >= 0 || pattern.IndexOf('#') >= 0) { error = "MQTT wildcards '+' and '#' are not allowed; use {name} placeholders"; return null; }
            if (pattern.IndexOf('\0') >= 0) { error = "it contains a NUL character"; return null; }

            string[] parts = pattern.Split('/');
            var segments = new List<TopicSegment>(parts.Length);
            var names = new HashSet<string>();
            foreach (string part in parts)
            {
                if (part.Length == 0) { error = "it has an empty segment"; return null; }
                bool hasBrace = part.IndexOf('{') >= 0 || part.IndexOf('}') >= 0;
                if (!hasBrace)
                {
                    segments.Add(new TopicSegment(false, part, null));
                    continue;
                }
                if (!IsPlaceholder(part))
                {
                    error = $"segment '{part}' must be a whole placeholder of the form {{snake_case}}";
                    return null;
                }
                string name = part.Substring(1, part.Length - 2);
                if (!names.Add(name)) { error = $"placeholder {{{name}}} appears twice"; return null; }
                string parameter = Naming.ToCamelCase(name);
                if (Reserved.Contains(parameter)) parameter += "Segment";
                segments.Add(new TopicSegment(true, name, Naming.EscapeIdentifier(parameter)));
            }
            return segments.ToArray();
        }

        private static bool IsPlaceholder(string part)
        {
            if (part.Length < 3 || part[0] != '{' || part[part.Length - 1] != '}') return false;
            if (part[1] < 'a' || part[1] > 'z') return false;
            for (int i = 2; i < part.Length - 1; i++)
            {
                char c = part[i];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
            }
            return true;
        }

        /// <summary>The MQTT subscription filter: every placeholder becomes '+'.</summary>
        public static string ToFilter(IEnumerable<TopicSegment> segments)
        {
            var sb = new StringBuilder();
            foreach (TopicSegment s in segments)
            {
                if (sb.Length > 0) sb.Append('/');
                sb.Append(s.IsParameter ? "+" : s.Text);
            }
            return sb.ToString();
        }
    }
}
