using System.Collections.Generic;
using System.Linq;
using Alicia.Generators.Model;
using Microsoft.CodeAnalysis;

namespace Alicia.Generators.Parsing
{
    /// <summary>Maps a member type onto a <see cref="TypeShape"/>, or null when the wire format cannot carry it.</summary>
    internal sealed class TypeClassifier
    {
        private readonly string _helperNamespace;
        private readonly Dictionary<string, EnumModel> _enums = new Dictionary<string, EnumModel>();

        public TypeClassifier(string helperNamespace) => _helperNamespace = helperNamespace;

        /// <summary>The enums met so far, in a stable order.</summary>
        public EnumModel[] Enums => _enums.Values.OrderBy(e => e.FullName, System.StringComparer.Ordinal).ToArray();

        /// <summary>True when an unresolved (error) type was met: the compiler reports it, the generator stays quiet.</summary>
        public bool SawErrorType { get; private set; }

        public TypeShape? Classify(ITypeSymbol type)
        {
            if (type.TypeKind == TypeKind.Error) { SawErrorType = true; return null; }
            if (type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable)
            {
                TypeShape? inner = ClassifyCore(nullable.TypeArguments[0]);
                return inner is { IsValueType: true } ? inner with { IsNullable = true } : null;
            }
            TypeShape? shape = ClassifyCore(type);
            if (shape is not null && !type.IsValueType && type.NullableAnnotation != NullableAnnotation.NotAnnotated)
                shape = shape with { IsNullable = true };
            return shape;
        }

        private TypeShape? ClassifyCore(ITypeSymbol type)
        {
            if (type.TypeKind == TypeKind.Error) { SawErrorType = true; return null; }
            switch (type.SpecialType)
            {
                case SpecialType.System_Boolean: return Primitive(ShapeKind.Boolean, "bool");
                case SpecialType.System_Byte: return Primitive(ShapeKind.Byte, "byte");
                case SpecialType.System_SByte: return Primitive(ShapeKind.SByte, "sbyte");
                case SpecialType.System_Int16: return Primitive(ShapeKind.Int16, "short");
                case SpecialType.System_UInt16: return Primitive(ShapeKind.UInt16, "ushort");
                case SpecialType.System_Int32: return Primitive(ShapeKind.Int32, "int");
                case SpecialType.System_UInt32: return Primitive(ShapeKind.UInt32, "uint");
                case SpecialType.System_Int64: return Primitive(ShapeKind.Int64, "long");
                case SpecialType.System_UInt64: return Primitive(ShapeKind.UInt64, "ulong");
                case SpecialType.System_Single: return Primitive(ShapeKind.Single, "float");
                case SpecialType.System_Double: return Primitive(ShapeKind.Double, "double");
                case SpecialType.System_String: return new TypeShape(ShapeKind.String, "string", false, false, null, null);
                case SpecialType.System_DateTime: return Primitive(ShapeKind.DateTime, "global::System.DateTime");
            }

            if (type is IArrayTypeSymbol array)
            {
                if (array.Rank != 1) return null;
                if (array.ElementType.SpecialType == SpecialType.System_Byte)
                    return new TypeShape(ShapeKind.Binary, "byte[]", false, false, null, null);
                TypeShape? element = Classify(array.ElementType);
                return element is null ? null : new TypeShape(ShapeKind.Array, element.DeclaredName + "[]", false, false, element, null);
            }

            if (type.TypeKind == TypeKind.Enum) return ClassifyEnum((INamedTypeSymbol)type);

            if (type is not INamedTypeSymbol named) return null;

            if (named.IsInNamespace("System") && named.TypeArguments.Length == 0)
            {
                switch (named.Name)
                {
                    case "Guid": return Primitive(ShapeKind.Guid, "global::System.Guid");
                    case "DateTimeOffset": return Primitive(ShapeKind.DateTimeOffset, "global::System.DateTimeOffset");
                    case "TimeSpan": return Primitive(ShapeKind.TimeSpan, "global::System.TimeSpan");
                }
            }

            if (named.IsGenericType && named.IsInNamespace("System.Collections.Generic"))
                return ClassifyCollection(named);

            if (IsContract(named))
                return new TypeShape(ShapeKind.Contract, named.FullName(), named.IsValueType, false, null, null);

            return null;
        }

        private TypeShape? ClassifyCollection(INamedTypeSymbol named)
        {
            const string Generic = "global::System.Collections.Generic.";
            switch (named.MetadataName)
            {
                case "List`1": return Sequence(ShapeKind.List, "List", named.TypeArguments[0]);
                case "IReadOnlyList`1": return Sequence(ShapeKind.ReadOnlyList, "IReadOnlyList", named.TypeArguments[0]);
                case "IList`1": return Sequence(ShapeKind.IList, "IList", named.TypeArguments[0]);
                case "Dictionary`2": return Map(ShapeKind.Dictionary, "Dictionary", named);
                case "IReadOnlyDictionary`2": return Map(ShapeKind.ReadOnlyDictionary, "IReadOnlyDictionary", named);
                case "IDictionary`2": return Map(ShapeKind.IDictionary, "IDictionary", named);
                default: return null;
            }

            TypeShape? Sequence(ShapeKind kind, string name, ITypeSymbol elementType)
            {
                TypeShape? element = Classify(elementType);
                return element is null ? null : new TypeShape(kind, Generic + name + "<" + element.DeclaredName + ">", false, false, element, null);
            }

            TypeShape? Map(ShapeKind kind, string name, INamedTypeSymbol map)
            {
                if (map.TypeArguments[0].SpecialType != SpecialType.System_String) return null;
                TypeShape? value = Classify(map.TypeArguments[1]);
                return value is null ? null : new TypeShape(kind, Generic + name + "<string, " + value.DeclaredName + ">", false, false, value, null);
            }
        }

        private TypeShape ClassifyEnum(INamedTypeSymbol type)
        {
            string fullName = type.FullName();
            if (!_enums.TryGetValue(fullName, out EnumModel? model))
            {
                var members = new List<EnumMemberModel>();
                var seenValues = new HashSet<object>();
                foreach (ISymbol m in type.GetMembers())
                {
                    if (m is IFieldSymbol { HasConstantValue: true } f && f.ConstantValue is not null)
                        members.Add(new EnumMemberModel(Naming.EscapeIdentifier(f.Name), Naming.ToSnakeCase(f.Name), seenValues.Add(f.ConstantValue)));
                }
                string helper = Naming.ToIdentifier(type.MetadataFullName().Replace('.', '_').Replace('+', '_')) + "_WireNames";
                model = new EnumModel(fullName, type.Name, _helperNamespace, helper, members.ToEquatableArray());
                _enums.Add(fullName, model);
            }
            return new TypeShape(ShapeKind.Enum, fullName, true, false, null, model.HelperFullName);
        }

        private static TypeShape Primitive(ShapeKind kind, string name) => new TypeShape(kind, name, true, false, null, null);

        /// <summary>A type with a contract attribute (emitted in this compilation) or that implements IAliciaSerializable of itself.</summary>
        public static bool IsContract(INamedTypeSymbol type)
        {
            if (type.IsGenericType) return false;
            if (type.HasAttribute(KnownNames.ContractAttribute) || type.HasAttribute(KnownNames.MessageAttribute)) return true;
            foreach (INamedTypeSymbol i in type.AllInterfaces)
            {
                if (i.MetadataName == KnownNames.SerializableInterface && i.IsInNamespace(KnownNames.ContractsNamespace)
                    && SymbolEqualityComparer.Default.Equals(i.TypeArguments[0], type))
                    return true;
            }
            return false;
        }
    }
}
