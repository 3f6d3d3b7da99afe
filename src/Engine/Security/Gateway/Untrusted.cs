using System.Globalization;
using System.Text;

namespace Alicia.Engine.Security.Gateway;

/// <summary>
/// Text that came from a client (client ids, user names, topics, reason strings, payload excerpts), made safe to
/// log, store and print: control characters become visible escapes, so a topic such as
/// <c>x\n20:30:00.000 info SecurityGateway: FORGED</c> stays one line and no NUL or ESC sequence reaches a terminal.
/// </summary>
public static class Untrusted
{
    /// <summary>The longest escaped text kept; longer text is cut and marked with its original length.</summary>
    public const int DefaultMaxLength = 512;

    /// <summary>
    /// <paramref name="text"/> with C0 and C1 controls, DEL, and the Unicode line and paragraph separators and
    /// bidirectional overrides escaped (<c>\n</c>, <c>\r</c>, <c>\t</c>, <c>\0</c>, <c>\\</c>, else <c>\uXXXX</c>),
    /// bounded to <paramref name="maxLength"/> characters. Text with nothing to escape is returned as is.
    /// </summary>
    public static string Escape(string? text, int maxLength = DefaultMaxLength) => EscapeCore(text, maxLength, backslash: true);

    /// <summary>
    /// Controls only, backslashes left alone: for text that was escaped when stored (the audit log's records) and is
    /// printed again, so old or hand-edited rows still cannot reach a terminal raw.
    /// </summary>
    public static string EscapeControls(string? text, int maxLength = int.MaxValue) => EscapeCore(text, maxLength, backslash: false);

    private static string EscapeCore(string? text, int maxLength, bool backslash)
    {
        if (string.IsNullOrEmpty(text)) return text ?? "";
        int i = 0;
        while (i < text.Length && !NeedsEscape(text[i], backslash)) i++;
        if (i == text.Length && text.Length <= maxLength) return text;

        var sb = new StringBuilder(Math.Min(text.Length, maxLength) + 16);
        i = Math.Min(i, maxLength);
        sb.Append(text, 0, i);
        for (; i < text.Length && sb.Length < maxLength; i++)
        {
            char c = text[i];
            switch (c)
            {
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\0': sb.Append("\\0"); break;
                case '\\' when backslash: sb.Append("\\\\"); break;
                default:
                    if (NeedsEscape(c, backslash)) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        if (i < text.Length) sb.Append(CultureInfo.InvariantCulture, $"...({text.Length} chars)");
        return sb.ToString();
    }

    private static bool NeedsEscape(char c, bool backslash) =>
        c < 0x20 || c is >= '\u007f' and <= '\u009f' || (backslash && c == '\\')
        || c is '\u2028' or '\u2029' or >= '\u202a' and <= '\u202e' or >= '\u2066' and <= '\u2069';
}
