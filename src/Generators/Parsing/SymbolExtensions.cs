using Microsoft.CodeAnalysis;

namespace Alicia.Generators.Parsing
{
    internal static class SymbolExtensions
    {
        private static readonly SymbolDisplayFormat FullyQualifiedNonNullable =
            SymbolDisplayFormat.FullyQualifiedFormat.WithMiscellaneousOptions(
                SymbolDisplayFormat.FullyQualifiedFormat.MiscellaneousOptions & ~SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

        /// <summary><c>global::Ns.Type</c>, without a nullable annotation.</summary>
        public static string FullName(this ITypeSymbol type) =>
            type.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString(FullyQualifiedNonNullable);

        /// <summary>The dotted metadata name: <c>Ns.Outer+Inner</c>.</summary>
        public static string MetadataFullName(this ITypeSymbol type)
        {
            string name = type.MetadataName;
            if (type.ContainingType is { } outer) return outer.MetadataFullName() + "+" + name;
            return type.ContainingNamespace is { IsGlobalNamespace: false } ns ? ns.ToDisplayString() + "." + name : name;
        }

        public static bool IsInNamespace(this ISymbol symbol, string ns) =>
            symbol.ContainingNamespace is { } n && n.ToDisplayString() == ns;

        public static AttributeData? FindAttribute(this ISymbol symbol, string fullName)
        {
            foreach (AttributeData a in symbol.GetAttributes())
            {
                if (a.AttributeClass is { } c && c.MetadataFullName() == fullName) return a;
            }
            return null;
        }

        public static bool HasAttribute(this ISymbol symbol, string fullName) => symbol.FindAttribute(fullName) is not null;
    }
}
