using System.Diagnostics.Metrics;

namespace Alicia.Engine.Registry;

/// <summary>Registry and routing counters on meter <c>Alicia.Registry</c>, also kept as plain numbers for tests and health.</summary>
internal sealed class RegistryMetrics : IDisposable
{
    public const string MeterName = "Alicia.Registry";

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _registrations;
    private readonly Counter<long> _routes;
    private readonly Counter<long> _transitions;
    private long _refused, _routed, _fallbacks;

    public RegistryMetrics()
    {
        _registrations = _meter.CreateCounter<long>("alicia.registry.registrations", "{registration}", "Registrations by outcome (registered, updated, unchanged, refused) and refusal field");
        _routes = _meter.CreateCounter<long>("alicia.registry.routes", "{decision}", "Capability routing decisions by outcome (routed, fallback, no_capability, offline, limited)");
        _transitions = _meter.CreateCounter<long>("alicia.registry.liveness.transitions", "{transition}", "Device state changes by new state and cause");
        _meter.CreateObservableGauge("alicia.registry.devices", () => DeviceCount, "{device}", "Registered devices");
    }

    public Func<int> DeviceCountSource { get; set; } = () => 0;
    private int DeviceCount => DeviceCountSource();

    public long Refused => Interlocked.Read(ref _refused);
    public long Routed => Interlocked.Read(ref _routed);
    public long Fallbacks => Interlocked.Read(ref _fallbacks);

    public void Registration(string outcome, string? field = null)
    {
        if (outcome == "refused") Interlocked.Increment(ref _refused);
        _registrations.Add(1, new KeyValuePair<string, object?>("outcome", outcome), new KeyValuePair<string, object?>("field", field ?? ""));
    }

    public void Route(string outcome)
    {
        if (outcome is "routed" or "fallback") Interlocked.Increment(ref _routed);
        if (outcome == "fallback") Interlocked.Increment(ref _fallbacks);
        _routes.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
    }

    public void Transition(string state, string cause) =>
        _transitions.Add(1, new KeyValuePair<string, object?>("state", state), new KeyValuePair<string, object?>("cause", cause));

    public void Dispose() => _meter.Dispose();
}
