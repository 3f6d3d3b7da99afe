using System;
using Alicia.Generators.Diagnostics;
using Microsoft.CodeAnalysis;

namespace Alicia.Generators.Model
{
    /// <summary>A diagnostic as equatable data: the rule id, where, and the message arguments.</summary>
    internal sealed record DiagnosticInfo(string Id, LocationInfo? Location, EquatableArray<string> Arguments)
    {
        public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, LocationInfo? location, params string[] arguments)
            => new DiagnosticInfo(descriptor.Id, location, new EquatableArray<string>(arguments));

        public Diagnostic ToDiagnostic()
        {
            DiagnosticDescriptor descriptor = DiagnosticDescriptors.ById(Id);
            object[] args = new object[Arguments.Count];
            for (int i = 0; i < args.Length; i++) args[i] = Arguments[i];
            return Diagnostic.Create(descriptor, Location?.ToLocation() ?? Microsoft.CodeAnalysis.Location.None, args);
        }
    }
}
