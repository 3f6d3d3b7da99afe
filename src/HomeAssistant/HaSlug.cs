namespace Alicia.HomeAssistant;

/// <summary>
/// Home Assistant's entity-id slugs: lower case ASCII letters, digits and single <c>_</c> (HA turns <c>-</c> and
/// every other character into <c>_</c>). Node and object ids in discovery topics use the same slugs, so the ids the
/// bridge signs (<see cref="Alicia.Contracts.Messages.HaState"/>, <see cref="Alicia.Contracts.Messages.HaCommand"/>)
/// are the ids HA really creates.
/// </summary>
internal static class HaSlug
{
    public static string Of(string text)
    {
        var s = new System.Text.StringBuilder(text.Length);
        bool underscore = true; // no leading '_'
        foreach (char c in text)
        {
            if (char.IsAsciiLetterOrDigit(c))
            {
                s.Append(char.ToLowerInvariant(c));
                underscore = false;
            }
            else if (!underscore)
            {
                s.Append('_');
                underscore = true;
            }
        }
        while (s.Length > 0 && s[^1] == '_') s.Length--;
        return s.Length == 0 ? "unnamed" : s.ToString();
    }
}
