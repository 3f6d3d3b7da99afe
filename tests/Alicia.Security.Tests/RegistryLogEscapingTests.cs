using Alicia.Contracts.Messages;
using Alicia.Engine.Registry;
using Alicia.Tools.Simulation;
using Microsoft.Extensions.Logging;

namespace Alicia.Security.Tests;

/// <summary>
/// Issue 10 A6, the registry's part: device-supplied strings (device ids, locations, types, capability names, reasons) reach
/// the registry's log with control characters escaped, so a registration cannot forge a log line or reach a terminal raw.
/// </summary>
public sealed class RegistryLogEscapingTests
{
    private const string Forged = "\n20:30:00.000 info DeviceRegistry: FORGED\u001b[2J";

    private sealed class RecordingLogger : ILogger
    {
        public readonly List<string> Messages = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Messages) Messages.Add(formatter(state, exception));
        }
    }

    private static void AssertClean(IEnumerable<string> messages)
    {
        foreach (string message in messages)
            Assert.False(message.Any(c => char.IsControl(c)), $"a control character reached the log: {Untrusted(message)}");
    }

    private static string Untrusted(string s) => Alicia.Engine.Security.Gateway.Untrusted.Escape(s, 4096);

    [Fact]
    public void A_refused_registration_an_accepted_one_and_an_unregistration_log_device_text_escaped()
    {
        var logger = new RecordingLogger();
        using var registry = new DeviceRegistry(null, logger: logger);

        // Refused: the id itself carries the forged line.
        DeviceRegistration bad = SimulatedDevice.Describe("lamp-1" + Forged, SimulatedKind.Bulb, "kitchen");
        Assert.Equal("refused", registry.Register(bad, "lamp-1").Outcome);

        // A location with a forged line is refused; whatever is logged of it is escaped.
        DeviceRegistration located = SimulatedDevice.Describe("lamp-2", SimulatedKind.Bulb, "kitchen" + Forged);
        registry.Register(located, "lamp-2");

        DeviceRegistration good = SimulatedDevice.Describe("lamp-3", SimulatedKind.Bulb, "hall");
        registry.Register(good, "lamp-3");
        registry.Unregister("lamp-3", "lamp-3", "going away" + Forged);

        List<string> messages;
        lock (logger.Messages) messages = [.. logger.Messages];
        Assert.Contains(messages, m => m.Contains("lamp-1\\n20:30:00.000 info DeviceRegistry: FORGED\\u001b[2J", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("going away\\n20:30:00.000", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("Registration of 'lamp-2' refused", StringComparison.Ordinal));
        AssertClean(messages);
    }
}
