namespace Alicia.Generators.Model
{
    /// <summary>The outcome of reading one annotated type: a model when it can be emitted, and diagnostics.</summary>
    internal sealed record ParseResult(ContractModel? Model, EquatableArray<DiagnosticInfo> Diagnostics, TopicRegistration? Registration);
}
