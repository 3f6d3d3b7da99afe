namespace Alicia.Engine.Security.Gateway;

/// <summary>Checks a topic or filter for injection and abuse before any rule looks at it.</summary>
internal static class TopicRules
{
    public const int MaxDepth = 12;
    public const int MaxLength = 256;

    public static bool IsSafe(string topic, bool allowWildcards, out string? problem)
    {
        problem = null;
        if (topic.Length == 0) { problem = "empty topic"; return false; }
        if (topic.Length > MaxLength) { problem = $"topic longer than {MaxLength} characters"; return false; }
        int depth = 1;
        for (int i = 0; i < topic.Length; i++)
        {
            char c = topic[i];
            if (c == '\0') { problem = "NUL in topic"; return false; }
            if (char.IsControl(c)) { problem = "control character in topic"; return false; }
            if (c == '/') depth++;
            if (!allowWildcards && c is '+' or '#') { problem = $"wildcard '{c}' in a publish topic"; return false; }
        }
        if (depth > MaxDepth) { problem = $"topic deeper than {MaxDepth} levels"; return false; }
        foreach (string segment in topic.Split('/'))
        {
            if (segment is ".." or ".") { problem = $"'{segment}' segment in topic"; return false; }
            if (allowWildcards && segment.Length > 1 && (segment.Contains('+') || segment.Contains('#')))
            {
                problem = $"wildcard inside segment '{segment}'";
                return false;
            }
        }
        return true;
    }
}
