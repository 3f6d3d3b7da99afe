using System.Linq;

namespace Alicia.Generators.Model
{
    /// <summary>The topic binding of an <c>[AliciaMessage]</c> type.</summary>
    /// <param name="KindExpression">The C# expression of its default <c>MessageKind</c>.</param>
    internal sealed record MessageModel(string Pattern, string Filter, string KindExpression, EquatableArray<TopicSegment> Segments)
    {
        public int ParameterCount => Segments.Count(s => s.IsParameter);
    }
}
