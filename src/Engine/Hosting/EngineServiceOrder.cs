namespace Alicia.Engine.Hosting;

/// <summary>Start order from declared dependencies (<see cref="IEngineService.StartsAfter"/>): a stable topological sort.</summary>
internal static class EngineServiceOrder
{
    public static IReadOnlyList<IEngineService> Sort(IReadOnlyList<IEngineService> services)
    {
        var ordered = new List<IEngineService>(services.Count);
        var state = new Dictionary<IEngineService, bool>(ReferenceEqualityComparer.Instance); // false: visiting, true: placed
        foreach (IEngineService service in services) Visit(service, services, ordered, state, []);
        return ordered;
    }

    private static void Visit(IEngineService service, IReadOnlyList<IEngineService> all, List<IEngineService> ordered,
        Dictionary<IEngineService, bool> state, List<string> path)
    {
        if (state.TryGetValue(service, out bool placed))
        {
            if (placed) return;
            throw new InvalidOperationException($"engine services depend on each other in a cycle: {string.Join(" -> ", path)} -> {service.Name}");
        }
        state[service] = false;
        path.Add(service.Name);
        foreach (Type dependency in service.StartsAfter)
        {
            foreach (IEngineService other in all)
            {
                if (!ReferenceEquals(other, service) && dependency.IsInstanceOfType(other)) Visit(other, all, ordered, state, path);
            }
        }
        path.RemoveAt(path.Count - 1);
        state[service] = true;
        ordered.Add(service);
    }
}
