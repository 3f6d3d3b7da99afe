using System.Reflection;

namespace Alicia.Integration.Tests;

/// <summary>
/// The packed libraries' public API names no MQTTnet type: the broker library is an implementation detail
/// that can change (or be replaced) without breaking embedders. PublicAPI.*.txt pins the API itself.
/// </summary>
public sealed class PublicApiTests
{
    private const BindingFlags Visible = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    public static TheoryData<string> PackedAssemblies => ["Alicia.Contracts", "Alicia.Engine", "Alicia.HomeAssistant", "Alicia.Voice"];

    [Theory]
    [MemberData(nameof(PackedAssemblies))]
    public void No_MQTTnet_type_in_a_public_signature(string assemblyName)
    {
        Assembly assembly = Assembly.Load(assemblyName);
        var leaks = new List<string>();
        foreach (Type type in assembly.GetExportedTypes())
        {
            Check(type.BaseType, $"{type} base type", leaks);
            foreach (Type i in type.GetInterfaces()) Check(i, $"{type} implements", leaks);
            foreach (MemberInfo member in type.GetMembers(Visible))
            {
                switch (member)
                {
                    case MethodBase method when IsVisible(method):
                        if (method is MethodInfo m) Check(m.ReturnType, $"{type}.{m.Name} returns", leaks);
                        foreach (ParameterInfo p in method.GetParameters()) Check(p.ParameterType, $"{type}.{method.Name}({p.Name})", leaks);
                        break;
                    case PropertyInfo property when (property.GetMethod ?? property.SetMethod) is { } accessor && IsVisible(accessor):
                        Check(property.PropertyType, $"{type}.{property.Name}", leaks);
                        break;
                    case FieldInfo field when field.IsPublic || field.IsFamily || field.IsFamilyOrAssembly:
                        Check(field.FieldType, $"{type}.{field.Name}", leaks);
                        break;
                    case EventInfo e when e.AddMethod is { } add && IsVisible(add):
                        Check(e.EventHandlerType, $"{type}.{e.Name}", leaks);
                        break;
                }
            }
        }
        Assert.True(leaks.Count == 0, "MQTTnet types in the public API:\n" + string.Join("\n", leaks));
    }

    private static bool IsVisible(MethodBase method) => method.IsPublic || method.IsFamily || method.IsFamilyOrAssembly;

    private static void Check(Type? type, string where, List<string> leaks)
    {
        if (type is null) return;
        if (type.HasElementType)
        {
            Check(type.GetElementType(), where, leaks);
            return;
        }
        if (type.Assembly.GetName().Name?.StartsWith("MQTTnet", StringComparison.Ordinal) == true) leaks.Add($"{where}: {type}");
        if (type.IsGenericType && !type.IsGenericTypeDefinition)
        {
            foreach (Type argument in type.GetGenericArguments()) Check(argument, where, leaks);
        }
    }
}
