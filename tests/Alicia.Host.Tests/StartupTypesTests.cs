using System.Diagnostics.Tracing;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Alicia.Engine.Hosting;
using Alicia.Host.Commands;
using Alicia.Host.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Alicia.Host.Tests;

[CollectionDefinition(nameof(StartupTypesTests), DisableParallelization = true)]
public sealed class StartupTypesCollection;

/// <summary>
/// <c>src/Host/StartupTypes.rd.xml</c> lists the generic types the service container closes while <c>alicia run</c> starts
/// (options factories, loggers, the arrays behind IEnumerable services), so Native AOT compiles them ahead of time instead of
/// building them at run time with its type loader (most of what <c>builder.Build()</c> cost). This runs the same
/// composition under the container's event source and checks the file against what it saw. Alone in its collection: the
/// event source is process-wide, and other tests' hosts would add their types.
/// </summary>
[Collection(nameof(StartupTypesTests))]
public sealed class StartupTypesTests : IDisposable
{
    private static readonly XNamespace Directives = "http://schemas.microsoft.com/netfx/2013/01/metadata";
    private readonly TempDirectory _dir = new("alicia-startup-types");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_AOT_startup_types_file_lists_every_generic_type_the_container_closes_on_a_start()
    {
        SortedDictionary<string, SortedSet<string>> expected = await ClosedTypesOfAStartAsync();
        string expectedXml = Render(expected);
        string path = Path.Combine(Repository.Root, "src", "Host", "StartupTypes.rd.xml");
        SortedDictionary<string, SortedSet<string>> listed = Parse(XDocument.Load(path));

        var missing = expected.SelectMany(a => a.Value.Where(t => !listed.GetValueOrDefault(a.Key, []).Contains(t)).Select(t => $"{a.Key}: {t}")).ToList();
        var stale = listed.SelectMany(a => a.Value.Where(t => !expected.GetValueOrDefault(a.Key, []).Contains(t)).Select(t => $"{a.Key}: {t}")).ToList();
        if (missing.Count > 0 || stale.Count > 0)
        {
            string written = Path.Combine(AppContext.BaseDirectory, "StartupTypes.rd.xml");
            File.WriteAllText(written, expectedXml);
            Assert.Fail($"src/Host/StartupTypes.rd.xml is out of date ({missing.Count} missing, {stale.Count} no longer closed on a start); " +
                $"the file as it should be: cp {written} {path}\nmissing:\n  {string.Join("\n  ", missing)}\nstale:\n  {string.Join("\n  ", stale)}");
        }
        Assert.True(expected.Values.Sum(s => s.Count) > 50, "the container's event source reported too few types to be a whole start");
    }

    /// <summary>Builds, starts and stops the host as <c>alicia run</c> does; returns the closed generic types its container built, by assembly.</summary>
    private async Task<SortedDictionary<string, SortedSet<string>>> ClosedTypesOfAStartAsync()
    {
        var request = new ConfigurationRequest();
        request.Values["KeyDirectory"] = _dir.Keys;
        request.Values["DataDirectory"] = _dir.Data;
        request.Values["Broker:Port"] = "0";
        request.Values["Web:Port"] = "0";
        using var listener = new CallSiteListener();
        using (IHost host = RunCommand.BuildHost(ConfigurationLoader.LoadAll(request, new Dictionary<string, string?>()), LogLevel.Warning, backgroundStart: true))
        {
            host.Services.GetRequiredService<AliciaEngine>();
            await host.StartAsync();
            await host.StopAsync();
        }
        var types = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        void Add(Type type)
        {
            string assembly = type.IsArray ? type.GetElementType()!.Assembly.GetName().Name! : type.Assembly.GetName().Name!;
            if (!types.TryGetValue(assembly, out SortedSet<string>? set)) types[assembly] = set = new SortedSet<string>(StringComparer.Ordinal);
            set.Add(RdXmlName(type));
        }
        foreach ((string role, string name) in listener.TypeNames())
        {
            Type type = Resolve(name) ?? throw new InvalidOperationException($"the container reported a type this process cannot resolve: {name}");
            if (role == "serviceType" && type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IEnumerable<>))
            {
                // An IEnumerable<T> service is an array of T the container creates with Array.CreateInstance.
                Type item = type.GetGenericArguments()[0];
                Add(item.MakeArrayType());
                if (item.IsGenericType) Add(item);
            }
            else if (type.IsGenericType) Add(type);
        }
        return types;
    }

    /// <summary>The call sites the dependency injection event source reports (reassembled from their chunks).</summary>
    private sealed class CallSiteListener : EventListener
    {
        private readonly List<string> _callSites = [];
        private readonly StringBuilder _pending = new();

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Extensions-DependencyInjection") EnableEvents(source, EventLevel.Verbose, EventKeywords.All);
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName != "CallSiteBuilt" || e.Payload is not { Count: >= 4 } payload) return;
            lock (_callSites)
            {
                if ((int)payload[2]! == 0) _pending.Clear();
                _pending.Append((string)payload[1]!);
                if ((int)payload[2]! == (int)payload[3]! - 1) _callSites.Add(_pending.ToString());
            }
        }

        public IEnumerable<(string Role, string Name)> TypeNames()
        {
            lock (_callSites)
                return _callSites.SelectMany(c => Regex.Matches(c, "\"(implementationType|serviceType|itemType)\": \"([^\"]*`[^\"]*)\"").Select(m => (m.Groups[1].Value, m.Groups[2].Value))).Distinct().ToList();
        }
    }

    /// <summary>A type from its <see cref="Type.ToString"/> form (<c>Ns.Generic`1[Ns.Arg]</c>), looked up in the loaded assemblies.</summary>
    private static Type? Resolve(string name)
    {
        int open = name.IndexOf('[');
        if (open < 0) return AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetType(name)).FirstOrDefault(t => t is not null);
        Type? definition = Resolve(name[..open]);
        var arguments = new List<Type?>();
        int depth = 0, start = open + 1;
        for (int i = open + 1; i < name.Length - 1; i++)
        {
            if (name[i] == '[') depth++;
            else if (name[i] == ']') depth--;
            else if (name[i] == ',' && depth == 0)
            {
                arguments.Add(Resolve(name[start..i].Trim()));
                start = i + 1;
            }
        }
        arguments.Add(Resolve(name[start..^1].Trim()));
        return definition is null || arguments.Any(a => a is null) ? null : definition.MakeGenericType(arguments.ToArray()!);
    }

    /// <summary>The type as rd.xml names it: generic arguments assembly-qualified in double brackets, arrays with [].</summary>
    private static string RdXmlName(Type type) => type switch
    {
        { IsArray: true } => RdXmlName(type.GetElementType()!) + "[]",
        { IsGenericType: true } => type.GetGenericTypeDefinition().FullName + "[" +
            string.Join(",", type.GetGenericArguments().Select(a => "[" + RdXmlName(a) + "," + a.Assembly.GetName().Name + "]")) + "]",
        _ => type.FullName!,
    };

    private static SortedDictionary<string, SortedSet<string>> Parse(XDocument document) => new(
        document.Descendants(Directives + "Assembly").ToDictionary(
            a => (string)a.Attribute("Name")!,
            a => new SortedSet<string>(a.Elements(Directives + "Type").Select(t => (string)t.Attribute("Name")!), StringComparer.Ordinal)),
        StringComparer.Ordinal);

    private static string Render(SortedDictionary<string, SortedSet<string>> types)
    {
        var xml = new StringBuilder();
        xml.Append("""
            <!--
              The generic types the service container closes while `alicia run` starts, for Native AOT to compile ahead of time:
              without this list its type loader builds each at run time, which was most of what builder.Build() cost.
              Generated and checked by tests/Alicia.Host.Tests/StartupTypesTests.cs (its failure message says how to refresh it).
            -->
            <Directives xmlns="http://schemas.microsoft.com/netfx/2013/01/metadata">
              <Application>

            """);
        foreach ((string assembly, SortedSet<string> names) in types)
        {
            xml.Append("    <Assembly Name=\"").Append(assembly).Append("\">\n");
            foreach (string name in names) xml.Append("      <Type Name=\"").Append(name).Append("\" Dynamic=\"Required All\" />\n");
            xml.Append("    </Assembly>\n");
        }
        xml.Append("  </Application>\n</Directives>\n");
        return xml.ToString();
    }

}
