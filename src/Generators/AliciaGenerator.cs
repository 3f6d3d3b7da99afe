using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Alicia.Generators.Diagnostics;
using Alicia.Generators.Emit;
using Alicia.Generators.Model;
using Alicia.Generators.Parsing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Alicia.Generators
{
    /// <summary>
    /// Emits the MessagePack/JSON serializers of <c>[AliciaContract]</c> and <c>[AliciaMessage]</c> types, the
    /// topic members of messages, enum wire-name helpers, and once per compilation the topic table and dispatcher.
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed class AliciaGenerator : IIncrementalGenerator
    {
        /// <summary>Tracking names of the pipeline steps (for incremental caching tests).</summary>
        public static class Steps
        {
            public const string Contracts = "Alicia.Contracts";
            public const string Messages = "Alicia.Messages";
            public const string Models = "Alicia.Models";
            public const string Diagnostics = "Alicia.Diagnostics";
            public const string Enums = "Alicia.Enums";
            public const string TopicEntries = "Alicia.TopicEntries";
            public const string AssemblyNamespace = "Alicia.AssemblyNamespace";
            public const string TopicTable = "Alicia.TopicTable";
            public const string Registrations = "Alicia.Registrations";
        }

        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            IncrementalValuesProvider<ParseResult> contracts = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    KnownNames.ContractAttribute,
                    static (node, _) => node is TypeDeclarationSyntax,
                    static (ctx, ct) => ContractParser.Parse(ctx, isMessage: false, ct))
                .Where(static r => r is not null)
                .Select(static (r, _) => r!)
                .WithTrackingName(Steps.Contracts);

            IncrementalValuesProvider<ParseResult> messages = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    KnownNames.MessageAttribute,
                    static (node, _) => node is TypeDeclarationSyntax,
                    static (ctx, ct) => ContractParser.Parse(ctx, isMessage: true, ct))
                .Where(static r => r is not null)
                .Select(static (r, _) => r!)
                .WithTrackingName(Steps.Messages);

            RegisterTypeOutputs(context, contracts);
            RegisterTypeOutputs(context, messages);

            // Enum helpers: one per enum, whichever contracts use it.
            IncrementalValuesProvider<EnumModel> enums = contracts.SelectMany(static (r, _) => EnumsOf(r)).Collect()
                .Combine(messages.SelectMany(static (r, _) => EnumsOf(r)).Collect())
                .Select(static (pair, _) => pair.Left.Concat(pair.Right)
                    .GroupBy(e => e.FullName).Select(g => g.First())
                    .OrderBy(e => e.FullName, System.StringComparer.Ordinal)
                    .ToEquatableArray())
                .WithTrackingName(Steps.Enums)
                .SelectMany(static (array, _) => array);
            context.RegisterSourceOutput(enums, static (spc, e) => spc.AddSource(EnumHelperEmitter.HintName(e), EnumHelperEmitter.Emit(e)));

            // The topic table, dispatcher and ids: from the message models only (no locations), so edits elsewhere do not re-emit it.
            IncrementalValueProvider<string> assemblyNamespace = context.CompilationProvider
                .Select(static (c, _) => Naming.ToNamespace(c.AssemblyName))
                .WithTrackingName(Steps.AssemblyNamespace);
            IncrementalValueProvider<(EquatableArray<TopicEntry> Entries, string Namespace)> table = messages
                .Select(static (r, _) => r.Model is { Message: not null } m ? TopicEntry.From(m) : null)
                .Where(static e => e is not null)
                .Select(static (e, _) => e!)
                .Collect()
                .Select(static (entries, _) => entries.OrderBy(e => e.FullName, System.StringComparer.Ordinal).ToEquatableArray())
                .WithTrackingName(Steps.TopicEntries)
                .Combine(assemblyNamespace)
                .WithTrackingName(Steps.TopicTable);
            context.RegisterSourceOutput(table, static (spc, t) =>
            {
                if (t.Entries.Count > 0) spc.AddSource(TopicTableEmitter.HintName, TopicTableEmitter.Emit(t.Entries.ToList(), t.Namespace));
            });

            // ALC001: a pattern bound by two message types.
            IncrementalValueProvider<ImmutableArray<TopicRegistration>> registrations = messages
                .Select(static (r, _) => r.Registration)
                .Where(static r => r is not null)
                .Select(static (r, _) => r!)
                .Collect()
                .WithTrackingName(Steps.Registrations);
            context.RegisterSourceOutput(registrations, static (spc, all) =>
            {
                foreach (IGrouping<string, TopicRegistration> group in all.GroupBy(r => r.Pattern))
                {
                    List<TopicRegistration> bound = group.OrderBy(r => r.FullName, System.StringComparer.Ordinal).ToList();
                    for (int i = 1; i < bound.Count; i++)
                    {
                        spc.ReportDiagnostic(DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateTopic, bound[i].Location,
                            bound[i].Pattern, bound[i].TypeName, bound[0].TypeName).ToDiagnostic());
                    }
                }
            });
        }

        private static void RegisterTypeOutputs(IncrementalGeneratorInitializationContext context, IncrementalValuesProvider<ParseResult> results)
        {
            IncrementalValuesProvider<EquatableArray<DiagnosticInfo>> diagnostics = results
                .Select(static (r, _) => r.Diagnostics)
                .Where(static d => d.Count > 0)
                .WithTrackingName(Steps.Diagnostics);
            context.RegisterSourceOutput(diagnostics, static (spc, list) =>
            {
                foreach (DiagnosticInfo d in list) spc.ReportDiagnostic(d.ToDiagnostic());
            });

            IncrementalValuesProvider<ContractModel> models = results
                .Select(static (r, _) => r.Model)
                .Where(static m => m is not null)
                .Select(static (m, _) => m!)
                .WithTrackingName(Steps.Models);
            context.RegisterSourceOutput(models, static (spc, m) => spc.AddSource(m.HintName, ContractEmitter.Emit(m)));
        }

        private static EquatableArray<EnumModel> EnumsOf(ParseResult r) => r.Model?.Enums ?? EquatableArray<EnumModel>.Empty;
    }
}
