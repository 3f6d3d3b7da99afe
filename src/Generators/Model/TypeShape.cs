namespace Alicia.Generators.Model
{
    /// <summary>
    /// A member type reduced to what the emitters need. <see cref="TypeName"/> is the fully qualified
    /// non-nullable form; <see cref="IsNullable"/> covers both <c>T?</c> on reference types and <c>Nullable&lt;T&gt;</c>.
    /// </summary>
    /// <param name="Helper">For enums: the generated wire-name helper class; otherwise null.</param>
    /// <param name="Element">For collections: the element (or dictionary value) shape.</param>
    internal sealed record TypeShape(ShapeKind Kind, string TypeName, bool IsValueType, bool IsNullable, TypeShape? Element, string? Helper)
    {
        /// <summary>The type as declared, with its nullable annotation.</summary>
        public string DeclaredName => IsNullable ? TypeName + "?" : TypeName;

        public bool IsCollection => Kind >= ShapeKind.List;

        public bool IsDictionary => Kind is ShapeKind.Dictionary or ShapeKind.ReadOnlyDictionary or ShapeKind.IDictionary;
    }
}
