namespace Alicia.Generators.Model
{
    /// <summary>A message type's row in the per-compilation topic table.</summary>
    internal sealed record TopicEntry(string TypeName, string FullName, string Pattern, string Filter, string KindExpression, EquatableArray<TopicSegment> Segments)
    {
        public static TopicEntry From(ContractModel model) =>
            new TopicEntry(model.Name, model.FullName, model.Message!.Pattern, model.Message.Filter, model.Message.KindExpression, model.Message.Segments);
    }

    /// <summary>Where a message type binds its pattern, for the duplicate-pattern check (ALC001).</summary>
    internal sealed record TopicRegistration(string Pattern, string TypeName, string FullName, LocationInfo? Location);
}
