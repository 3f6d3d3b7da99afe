using System;
using Microsoft.CodeAnalysis;

namespace Alicia.Generators.Diagnostics
{
    internal static class DiagnosticDescriptors
    {
        private const string Category = "Alicia.Contracts";

        public static readonly DiagnosticDescriptor DuplicateTopic = new DiagnosticDescriptor(
            "ALC001", "Duplicate topic pattern",
            "Topic pattern '{0}' of '{1}' is already bound to '{2}'; each pattern must belong to exactly one message type",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor UnsupportedMemberType = new DiagnosticDescriptor(
            "ALC002", "Unsupported member type",
            "Property '{0}' of '{1}' has type '{2}', which the Alicia wire format does not support",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor NotPartial = new DiagnosticDescriptor(
            "ALC003", "Contract type must be partial",
            "Type '{0}' must be declared partial so the generator can add its serializer",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor InvalidTopic = new DiagnosticDescriptor(
            "ALC004", "Invalid topic pattern",
            "Topic pattern '{0}' of '{1}' is invalid: {2}",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor NotConstructible = new DiagnosticDescriptor(
            "ALC005", "Contract type cannot be deserialized",
            "'{0}' cannot be deserialized: {1}",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor DuplicateWireName = new DiagnosticDescriptor(
            "ALC006", "Duplicate wire name",
            "Property '{0}' of '{1}' has wire name '{2}', which property '{3}' already uses",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor NestedType = new DiagnosticDescriptor(
            "ALC007", "Contract type must be top-level",
            "Type '{0}' is nested in '{1}'; contract types must be top-level",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor GenericType = new DiagnosticDescriptor(
            "ALC008", "Contract type must not be generic",
            "Type '{0}' is generic; contract types must not have type parameters",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static DiagnosticDescriptor ById(string id) => id switch
        {
            "ALC001" => DuplicateTopic,
            "ALC002" => UnsupportedMemberType,
            "ALC003" => NotPartial,
            "ALC004" => InvalidTopic,
            "ALC005" => NotConstructible,
            "ALC006" => DuplicateWireName,
            "ALC007" => NestedType,
            "ALC008" => GenericType,
            _ => throw new ArgumentOutOfRangeException(nameof(id), id, "unknown diagnostic id"),
        };
    }
}
