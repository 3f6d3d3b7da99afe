using System.Collections.Concurrent;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Registry;
using Alicia.Engine.Security;
using Alicia.Tools.Simulation;

namespace Alicia.Assistant.Tests;

/// <summary>A whole reply as a client saw it: its pieces in order, and the routing decisions of its session.</summary>
internal sealed record Conversation(IReadOnlyList<AiResponse> Pieces, IReadOnlyList<VoiceCommandRoute> Routes)
{
    public string Text => string.Join(' ', Pieces.Select(p => p.Text).Where(t => t.Length > 0));

    /// <summary>The decision that ended the request (tool calls are steps before it).</summary>
    public VoiceCommandRoute Route => Routes.Last(r => r.Source != "llm_tool" && r.Timings.Count > 0);
}

/// <summary>
/// The real thing on loopback: an engine with its embedded broker, the registry and the assistant; simulated devices of
/// the test home with their own MQTT connections (obeying signed commands and echoing their state); a fake Grok server;
/// and a client on the bus that talks to the assistant as a satellite or <c>alicia say</c> would.
/// </summary>
internal sealed class AssistantHarness : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];

    private AssistantHarness(TestEngine test, RegistryService registry, AssistantService assistant, FakeGrokServer grok, AliciaBus client)
    {
        Test = test;
        Registry = registry;
        Assistant = assistant;
        Grok = grok;
        Client = client;
    }

    public TestEngine Test { get; }
    public RegistryService Registry { get; }
    public AssistantService Assistant { get; }
    public FakeGrokServer Grok { get; }
    public AliciaBus Client { get; }
    public Dictionary<string, SimulatedDevice> Devices { get; } = new(StringComparer.Ordinal);

    /// <param name="clock">The assistant's clock (a fake in timer and circuit-breaker tests); the engine keeps the real one.</param>
    /// <param name="loggers">Where the assistant logs (a collector in the key-leak test).</param>
    public static async Task<AssistantHarness> StartAsync(Action<AssistantSettings>? configure = null, TimeProvider? clock = null,
        Microsoft.Extensions.Logging.ILoggerFactory? loggers = null)
    {
        var grok = new FakeGrokServer();
        var settings = new AssistantSettings { ConfirmTimeoutMs = 1500 };
        settings.Grok.BaseUrl = grok.BaseUrl;
        settings.Grok.ApiKey = "test-key";
        settings.Grok.Model = "grok-fake";
        configure?.Invoke(settings);
        RegistryService registry = null!;
        AssistantService assistant = null!;
        TestEngine test = await TestEngine.StartAsync(services: e =>
        {
            e.AddService(registry = new RegistryService(new RegistryOptions()));
            e.AddService(assistant = new AssistantService(settings, registry, clock, loggers));
        });
        AliciaBus client = await test.ClientAsync("alicia-cli");
        return new AssistantHarness(test, registry, assistant, grok, client);
    }

    /// <summary>Brings up the named devices of the test home (simulated) and registers the satellites; returns when all are live.</summary>
    public async Task HomeAsync(params string[] ids)
    {
        var signer = new EnvelopeSigner(Test.Identity("sim-owner"));
        var live = new List<Task>();
        foreach (string id in ids)
        {
            HomeEntry entry = SimulatedHome.Entries.First(e => e.Id == id);
            live.Add(LiveAsync(id));
            if (entry.IsSatellite)
            {
                Registry.Registry.Register(entry.Registration, "sim-owner");
                continue;
            }
            // Heartbeats (and a sensor's telemetry) once at start, then hourly: a reading the test can know.
            var device = new SimulatedDevice(id, entry.SimulatedKind, entry.Room, signer, Test.Verifier(), Test.Endpoint, TimeSpan.FromHours(1));
            _owned.Add(device);
            Devices[id] = device;
            await device.StartAsync();
        }
        await Task.WhenAll(live).WaitAsync(Waits.Long);
    }

    /// <summary>A device registered but with nobody behind it: it is live in the registry and never echoes a command.</summary>
    public Task MuteDeviceAsync(string id, SimulatedKind kind, string room)
    {
        Task live = LiveAsync(id);
        Registry.Registry.Register(SimulatedDevice.Describe(id, kind, room), "sim-owner");
        return live.WaitAsync(Waits.Long);
    }

    private Task LiveAsync(string id)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Handler(RegistryChange c)
        {
            if (c.Device.DeviceId != id || !c.Device.IsLive) return;
            Registry.Registry.Changed -= Handler;
            tcs.TrySetResult();
        }
        Registry.Registry.Changed += Handler;
        if (Registry.Registry.Get(id) is { IsLive: true })
        {
            Registry.Registry.Changed -= Handler;
            tcs.TrySetResult();
        }
        return tcs.Task;
    }

    /// <summary>Completes when the assistant has stored a value <paramref name="key"/> reported by <paramref name="deviceId"/>.</summary>
    public Task<double> ReadingAsync(string deviceId, string key)
    {
        var tcs = new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Handler(string id)
        {
            if (id == deviceId && Assistant.Readings.TryGet(deviceId, key, out double v)) tcs.TrySetResult(v);
        }
        Assistant.Readings.Reported += Handler;
        if (Assistant.Readings.TryGet(deviceId, key, out double now)) tcs.TrySetResult(now);
        return tcs.Task.WaitAsync(Waits.Long).ContinueWith(t => { Assistant.Readings.Reported -= Handler; return t.Result; }, TaskScheduler.Default);
    }

    /// <summary>What a satellite's voice session publishes after recognising <paramref name="text"/>; returns the whole reply.</summary>
    public Task<Conversation> TranscriptAsync(string satellite, string text) =>
        ConverseAsync(session => Client.PublishAsync(new SttResponse { SessionId = session, DeviceId = satellite, Text = text, Status = "ok", Confidence = 0.9, Timings = { ["stt_ms"] = 12.5 } }));

    /// <summary>A text request (as <c>alicia say</c> sends it); returns the whole reply.</summary>
    public Task<Conversation> SayAsync(string text, string room = "", string satellite = "") =>
        ConverseAsync(session =>
        {
            var request = new AiRequest { SessionId = session, Text = text };
            if (room.Length > 0) request.Context["room"] = room;
            if (satellite.Length > 0) request.Context["device_id"] = satellite;
            return Client.PublishAsync(request);
        });

    private async Task<Conversation> ConverseAsync(Func<string, Task> send)
    {
        string session = "test-" + Guid.NewGuid().ToString("n")[..8];
        var pieces = new ConcurrentQueue<AiResponse>();
        var routes = new ConcurrentQueue<VoiceCommandRoute>();
        var final = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var routed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IAsyncDisposable replies = await Client.SubscribeAsync<AiResponse>((m, _) =>
        {
            if (m.Data.SessionId != session) return default;
            pieces.Enqueue(m.Data);
            if (m.Data.IsFinal) final.TrySetResult();
            return default;
        }, new SubscribeOptions { ReceiveAll = true });
        await using IAsyncDisposable decisions = await Client.SubscribeAsync<VoiceCommandRoute>((m, _) =>
        {
            if (m.Data.SessionId != session) return default;
            routes.Enqueue(m.Data);
            if (m.Data.Source != "llm_tool" && m.Data.Timings.Count > 0) routed.TrySetResult();
            return default;
        }, new SubscribeOptions { ReceiveAll = true });
        await send(session);
        await Task.WhenAll(final.Task, routed.Task).WaitAsync(Waits.Long);
        return new Conversation([.. pieces.OrderBy(p => p.Sequence)], [.. routes]);
    }

    public async ValueTask DisposeAsync()
    {
        for (int i = _owned.Count - 1; i >= 0; i--) await _owned[i].DisposeAsync();
        await Client.DisposeAsync();
        await Test.DisposeAsync();
        await Grok.DisposeAsync();
    }
}
