namespace Alicia.Generators.Model
{
    /// <summary>One segment of a topic pattern: a literal, or a <c>{name}</c> placeholder.</summary>
    /// <param name="Text">The literal text, or the placeholder name (snake_case, without braces).</param>
    /// <param name="ParameterName">For a placeholder: the C# parameter name (camelCase, escaped); otherwise null.</param>
    internal sealed record TopicSegment(bool IsParameter, string Text, string? ParameterName);
}
