using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Alicia.Generators.Diagnostics;
using Alicia.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Alicia.Generators.Parsing
{
    /// <summary>Turns one <c>[AliciaContract]</c> / <c>[AliciaMessage]</c> type into a <see cref="ParseResult"/>.</summary>
    internal static class ContractParser
    {
        public static ParseResult? Parse(GeneratorAttributeSyntaxContext context, bool isMessage, CancellationToken cancellationToken)
        {
            if (context.TargetSymbol is not INamedTypeSymbol type || context.TargetNode is not TypeDeclarationSyntax syntax) return null;
            // A type with both attributes is handled once, as a message.
            if (!isMessage && type.HasAttribute(KnownNames.MessageAttribute)) return null;

            var diagnostics = new List<DiagnosticInfo>();
            LocationInfo? typeLocation = LocationInfo.From(syntax.Identifier);
            string typeName = type.Name;

            TopicRegistration? registration = null;
            MessageModel? message = null;
            if (isMessage)
            {
                message = ParseMessage(context.Attributes[0], type, diagnostics, out registration);
            }

            if (type.ContainingType is { } container)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NestedType, typeLocation, typeName, container.Name));
            }
            if (!syntax.Modifiers.Any(SyntaxKind.PartialKeyword))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NotPartial, typeLocation, typeName));
            }
            if (type.TypeParameters.Length > 0)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.GenericType, typeLocation, typeName));
            }
            CheckConstructible(type, typeLocation, diagnostics);

            string helperNamespace = Naming.ToNamespace(context.SemanticModel.Compilation.AssemblyName) + ".Generated";
            var classifier = new TypeClassifier(helperNamespace);
            List<MemberModel> members = ParseMembers(type, typeLocation, classifier, diagnostics, cancellationToken);

            ContractModel? model = null;
            if (diagnostics.Count == 0 && !classifier.SawErrorType)
            {
                string ns = type.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() : "";
                model = new ContractModel(
                    ns,
                    type.Name,
                    type.FullName(),
                    Keyword(type),
                    type.IsValueType,
                    Naming.ToHintName(type.MetadataFullName()) + ".g.cs",
                    members.ToEquatableArray(),
                    classifier.Enums.ToEquatableArray(),
                    message);
            }
            return new ParseResult(model, diagnostics.ToEquatableArray(), registration);
        }

        private static string Keyword(INamedTypeSymbol type) =>
            type.IsRecord ? (type.IsValueType ? "record struct" : "record") : (type.IsValueType ? "struct" : "class");

        private static MessageModel? ParseMessage(AttributeData attribute, INamedTypeSymbol type, List<DiagnosticInfo> diagnostics, out TopicRegistration? registration)
        {
            registration = null;
            var attributeSyntax = attribute.ApplicationSyntaxReference?.GetSyntax() as AttributeSyntax;
            LocationInfo? location = LocationInfo.From(attributeSyntax?.ArgumentList?.Arguments.FirstOrDefault()?.Expression ?? (SyntaxNode?)attributeSyntax);

            string? pattern = attribute.ConstructorArguments.Length > 0 ? attribute.ConstructorArguments[0].Value as string : null;
            TopicSegment[]? segments = TopicPatternParser.Parse(pattern, out string? error);
            if (segments is null)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidTopic, location, pattern ?? "", type.Name, error ?? "invalid"));
                return null;
            }

            string kind = KnownNames.MessageKind + ".Event";
            foreach (KeyValuePair<string, TypedConstant> named in attribute.NamedArguments)
            {
                if (named.Key == "Kind" && named.Value.Type is INamedTypeSymbol kindType && named.Value.Value is { } raw)
                {
                    IFieldSymbol? field = kindType.GetMembers().OfType<IFieldSymbol>().FirstOrDefault(f => f.HasConstantValue && Equals(f.ConstantValue, raw));
                    kind = field is not null ? KnownNames.MessageKind + "." + field.Name : "(" + KnownNames.MessageKind + ")" + raw;
                }
            }

            registration = new TopicRegistration(pattern!, type.Name, type.FullName(), location);
            return new MessageModel(pattern!, TopicPatternParser.ToFilter(segments), kind, segments.ToEquatableArray());
        }

        private static void CheckConstructible(INamedTypeSymbol type, LocationInfo? typeLocation, List<DiagnosticInfo> diagnostics)
        {
            if (type.IsValueType) return;
            if (type.IsAbstract || type.IsStatic)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NotConstructible, typeLocation, type.Name, "an abstract or static type cannot be created"));
                return;
            }
            bool hasParameterless = type.InstanceConstructors.Any(c => c.Parameters.Length == 0
                && c.DeclaredAccessibility is Accessibility.Public or Accessibility.Internal or Accessibility.ProtectedOrInternal);
            if (!hasParameterless)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NotConstructible, typeLocation, type.Name, "it needs a public or internal parameterless constructor"));
        }

        private static List<MemberModel> ParseMembers(INamedTypeSymbol type, LocationInfo? typeLocation, TypeClassifier classifier, List<DiagnosticInfo> diagnostics, CancellationToken cancellationToken)
        {
            // Base-most members first; an override or a hiding member is taken from the most derived type.
            var levels = new List<List<IPropertySymbol>>();
            var seen = new HashSet<string>();
            var requiredReported = new HashSet<string>();
            for (INamedTypeSymbol? t = type; t is not null && t.SpecialType != SpecialType.System_Object && t.SpecialType != SpecialType.System_ValueType; t = t.BaseType)
            {
                var level = new List<IPropertySymbol>();
                foreach (ISymbol member in t.GetMembers())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (member.IsStatic) continue;
                    if (member is IFieldSymbol { IsRequired: true } or IPropertySymbol { IsRequired: true } && requiredReported.Add(member.Name))
                    {
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NotConstructible, MemberLocation(member, typeLocation), type.Name,
                            $"member '{member.Name}' is required; the generated reader creates the object with new() and sets only the members it finds"));
                    }
                    if (member is not IPropertySymbol property || property.IsIndexer || property.DeclaredAccessibility != Accessibility.Public) continue;
                    if (!seen.Add(property.Name)) continue;
                    if (property.GetMethod is not { DeclaredAccessibility: Accessibility.Public }) continue;
                    if (property.HasAttribute(KnownNames.WireIgnoreAttribute)) continue;
                    level.Add(property);
                }
                levels.Add(level);
            }
            levels.Reverse();

            var result = new List<MemberModel>();
            var wireNames = new Dictionary<string, string>();
            foreach (IPropertySymbol property in levels.SelectMany(l => l))
            {
                LocationInfo? location = MemberLocation(property, typeLocation);
                string? problem = property.SetMethod switch
                {
                    null => "it has no setter",
                    { IsInitOnly: true } => "it is init-only",
                    { DeclaredAccessibility: not Accessibility.Public } => "its setter is not public",
                    _ => null,
                };
                if (problem is not null)
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NotConstructible, location, type.Name,
                        $"property '{property.Name}' needs a public setter ({problem}); add one or mark it [WireIgnore]"));
                    continue;
                }

                TypeShape? shape = classifier.Classify(property.Type);
                if (shape is null)
                {
                    if (!classifier.SawErrorType)
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedMemberType, location, property.Name, type.Name, property.Type.ToDisplayString()));
                    continue;
                }

                AttributeData? wireNameAttribute = property.FindAttribute(KnownNames.WireNameAttribute);
                string wireName = wireNameAttribute?.ConstructorArguments.FirstOrDefault().Value as string ?? Naming.ToSnakeCase(property.Name);
                if (wireNames.TryGetValue(wireName, out string? other))
                {
                    LocationInfo? at = LocationInfo.From(wireNameAttribute?.ApplicationSyntaxReference?.GetSyntax(cancellationToken)) ?? location;
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateWireName, at, property.Name, type.Name, wireName, other));
                    continue;
                }
                wireNames.Add(wireName, property.Name);
                result.Add(new MemberModel(Naming.EscapeIdentifier(property.Name), wireName, shape));
            }
            return result;
        }

        private static LocationInfo? MemberLocation(ISymbol member, LocationInfo? fallback) =>
            LocationInfo.From(member.Locations.FirstOrDefault(l => l.IsInSource)) ?? fallback;
    }
}
