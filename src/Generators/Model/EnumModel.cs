namespace Alicia.Generators.Model
{
    /// <param name="IsPrimary">False for an alias (a member sharing the value of an earlier one): it parses but is never written.</param>
    internal sealed record EnumMemberModel(string Name, string WireName, bool IsPrimary);

    /// <summary>An enum used by a contract: one wire-name helper class is emitted per enum, whoever uses it.</summary>
    /// <param name="FullName">The enum, fully qualified (<c>global::...</c>).</param>
    /// <param name="DisplayName">The enum's simple name, for messages.</param>
    /// <param name="HelperNamespace">Where the helper goes.</param>
    /// <param name="HelperName">The helper's simple name.</param>
    internal sealed record EnumModel(string FullName, string DisplayName, string HelperNamespace, string HelperName, EquatableArray<EnumMemberModel> Members)
    {
        public string HelperFullName => "global::" + HelperNamespace + "." + HelperName;
    }
}
