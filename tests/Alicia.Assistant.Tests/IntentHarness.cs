using Alicia.Assistant.Actions;
using Alicia.Assistant.Intents;
using Alicia.Engine.Registry;
using Microsoft.Extensions.Time.Testing;

namespace Alicia.Assistant.Tests;

/// <summary>The local intent engine over an in-memory registry holding the test home (no broker): for unit tests and the intent set.</summary>
internal sealed class IntentHarness : IDisposable
{
    public IntentHarness()
    {
        Registry = new DeviceRegistry(store: null, clock: Clock);
        foreach (HomeEntry e in SimulatedHome.Entries)
        {
            RegistrationOutcome outcome = Registry.Register(e.Registration, "sim-owner");
            if (!outcome.Accepted) throw new InvalidOperationException($"{e.Id}: {outcome.Error}");
        }
        Engine = new LocalIntentEngine(Grammar.Load("en"), Registry, Readings, Clock);
    }

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 28, 18, 5, 0, TimeSpan.Zero));
    public DeviceRegistry Registry { get; }
    public DeviceStateCache Readings { get; } = new();
    public LocalIntentEngine Engine { get; }

    public LocalDecision Decide(string text, string room = "") => Engine.Decide(text, room);

    public void Dispose() => Registry.Dispose();
}
