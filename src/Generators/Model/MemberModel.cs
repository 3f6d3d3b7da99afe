using System;

namespace Alicia.Generators.Model
{
    /// <summary>A serialized property: its C# name (keyword-escaped), wire name and shape.</summary>
    internal sealed record MemberModel(string PropertyName, string WireName, TypeShape Type);
}
