namespace Alicia.Generators.Model
{
    /// <summary>Everything needed to emit one contract type. Plain data: no symbols, syntax or locations.</summary>
    /// <param name="Namespace">The type's namespace, or empty for the global namespace.</param>
    /// <param name="Name">The simple type name.</param>
    /// <param name="FullName">Fully qualified with <c>global::</c>.</param>
    /// <param name="Keyword">class, struct, record or record struct.</param>
    /// <param name="HintName">The generated file's name.</param>
    /// <param name="Message">Set for <c>[AliciaMessage]</c> types.</param>
    internal sealed record ContractModel(
        string Namespace,
        string Name,
        string FullName,
        string Keyword,
        bool IsValueType,
        string HintName,
        EquatableArray<MemberModel> Members,
        EquatableArray<EnumModel> Enums,
        MessageModel? Message);
}
