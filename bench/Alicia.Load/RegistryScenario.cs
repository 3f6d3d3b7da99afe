using System.Collections.Concurrent;
using System.Diagnostics;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Registry;
using Alicia.Engine.Security;
using Alicia.Tools.Simulation;
using HdrHistogram;

namespace Alicia.Load;

/// <summary>
/// <c>--scenario registry</c>: an <see cref="AliciaEngine"/> with the <see cref="RegistryService"/> (embedded broker on a
/// free loopback port, SQLite in a temp folder) and a fleet of simulated devices registered and heartbeating,
/// multiplexed over a few signed MQTT connections; then new devices register one at a time and the time until
/// each is routable through the bus is measured.
/// <para>
/// The fleet uses the simulator's own registrations (<see cref="SimulatedDevice.Describe"/>: sensors, bulbs,
/// switches, speakers over six rooms) but not <see cref="SimulatedDevice"/> itself, which holds one MQTT
/// connection per device: device i is owned by fleet identity i mod C and published on that identity's
/// <see cref="AliciaBus"/> (C connections, default 4). Each connection sends its devices' signed
/// <see cref="ServiceHealth"/> heartbeats staggered over the interval.
/// </para>
/// </summary>
internal static class RegistryScenario
{
    private const string ProbeCapability = "light";

    public static async Task<int> RunAsync(LoadOptions o, TextWriter log)
    {
        var total = Stopwatch.StartNew();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(58));
        string dir = Path.Combine(o.TempRoot, "alicia-load-registry-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var identities = new List<SigningIdentity>();
        var fleetBuses = new List<AliciaBus>();
        AliciaBus? probe = null, controller = null;
        IAsyncDisposable? resultSubscription = null;
        AliciaEngine? engine = null;
        using var heartbeatCts = new CancellationTokenSource();
        var heartbeatTasks = new List<Task>();
        try
        {
            var registry = new RegistryService(new RegistryOptions());
            engine = new AliciaEngine(new AliciaEngineOptions
            {
                Name = "load-engine",
                KeyDirectory = Path.Combine(dir, "keys"),
                DataDirectory = Path.Combine(dir, "data"),
                Broker = new EmbeddedBrokerOptions { Port = 0, ListenAddress = "127.0.0.1" },
            });
            engine.AddService(registry);

            SigningIdentity Trusted(string name)
            {
                var id = SigningIdentity.Create(name);
                identities.Add(id);
                engine.Trust.Trust(name, id.PublicKey);
                return id;
            }
            SigningIdentity[] fleetIds = [.. Enumerable.Range(0, o.Connections).Select(c => Trusted($"load-fleet-{c}"))];
            SigningIdentity probeId = Trusted("load-probe");
            SigningIdentity controllerId = Trusted("load-controller");

            await engine.StartAsync(deadline.Token).ConfigureAwait(false);
            BrokerEndpoint endpoint = engine.ClientEndpoint!;
            log.WriteLine($"[registry] engine up, broker {endpoint}, registry db {registry.Registry.Store?.Path} (journal {registry.Registry.Store?.JournalMode}, synchronous {registry.Registry.Store?.Synchronous})");

            // Clients never verify here except the controller (results and routing answers are signed by the engine).
            var quietVerifier = new EnvelopeVerifier(new TrustStore(), new VerifierOptions { ReplayCapacity = 1024 });
            var controllerTrust = new TrustStore();
            controllerTrust.Trust(engine.Identity.Name, engine.Identity.PublicKey);
            var controllerVerifier = new EnvelopeVerifier(controllerTrust, new VerifierOptions { ReplayCapacity = 65536 });
            for (int c = 0; c < o.Connections; c++)
                fleetBuses.Add(await AliciaBus.ConnectAsync(endpoint, fleetIds[c], quietVerifier, new BusOptions { ClientId = $"load-fleet-{c}" }, cancellationToken: deadline.Token).ConfigureAwait(false));
            probe = await AliciaBus.ConnectAsync(endpoint, probeId, quietVerifier, new BusOptions { ClientId = "load-probe" }, cancellationToken: deadline.Token).ConfigureAwait(false);
            controller = await AliciaBus.ConnectAsync(endpoint, controllerId, controllerVerifier, new BusOptions { ClientId = "load-controller", RequestTimeout = TimeSpan.FromSeconds(5) }, cancellationToken: deadline.Token).ConfigureAwait(false);

            var results = new ConcurrentDictionary<string, TaskCompletionSource<(long At, RegistrationResult Result)>>(StringComparer.Ordinal);
            resultSubscription = await controller.SubscribeAsync<RegistrationResult>((m, _) =>
            {
                long at = Stopwatch.GetTimestamp();
                if (results.TryGetValue(m.Data.DeviceId, out var tcs)) tcs.TrySetResult((at, m.Data));
                return ValueTask.CompletedTask;
            }, new SubscribeOptions { Filter = RegistrationResult.TopicFilter, ReceiveAll = true }, cancellationToken: deadline.Token).ConfigureAwait(false);

            // ---- the fleet: register every device, wait until the registry holds them all ----
            string[] kinds = ["sensor", "bulb", "switch", "speaker"];
            var fleet = new (string Id, DeviceRegistration Registration, int Connection)[o.Devices];
            for (int i = 0; i < o.Devices; i++)
            {
                var kind = (SimulatedKind)(i % 4);
                string room = DeviceSimulator.Rooms[i / 4 % DeviceSimulator.Rooms.Length];
                string id = $"fleet-{kinds[i % 4]}-{i}";
                fleet[i] = (id, SimulatedDevice.Describe(id, kind, room), i % o.Connections);
            }
            var reg = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, o.Connections).Select(async c =>
            {
                foreach (var d in fleet.Where(d => d.Connection == c))
                    await fleetBuses[c].PublishAsync(d.Registration, cancellationToken: deadline.Token).ConfigureAwait(false);
            })).ConfigureAwait(false);
            while (registry.Registry.Count < o.Devices && !deadline.IsCancellationRequested) await Task.Delay(20).ConfigureAwait(false);
            log.WriteLine($"[registry] fleet: {registry.Registry.Count}/{o.Devices} registered in {reg.Elapsed.TotalSeconds:0.00} s ({o.Connections} connections)");
            if (registry.Registry.Count < o.Devices) throw new InvalidOperationException($"only {registry.Registry.Count}/{o.Devices} fleet devices registered before the deadline");

            // ---- heartbeats: each connection beats for its devices, staggered over the interval ----
            long hbSent = 0, hbFailed = 0;
            double interval = o.HeartbeatSeconds;
            for (int c = 0; c < o.Connections; c++)
            {
                AliciaBus bus = fleetBuses[c];
                string[] mine = [.. fleet.Where(d => d.Connection == c).Select(d => d.Id)];
                heartbeatTasks.Add(Task.Run(async () =>
                {
                    long freq = Stopwatch.Frequency, t0 = Stopwatch.GetTimestamp();
                    var sequence = new long[mine.Length];
                    for (long round = 0; ; round++)
                    {
                        for (int j = 0; j < mine.Length; j++)
                        {
                            long due = t0 + (long)((round + (double)j / mine.Length) * interval * freq);
                            long wait = due - Stopwatch.GetTimestamp();
                            if (wait > freq / 1000) await Task.Delay(TimeSpan.FromSeconds((double)wait / freq), heartbeatCts.Token).ConfigureAwait(false);
                            try
                            {
                                await bus.PublishAsync(new ServiceHealth
                                {
                                    Service = mine[j],
                                    Status = HealthStatus.Healthy,
                                    LastHeartbeat = DateTimeOffset.UtcNow,
                                    IntervalMs = (int)(interval * 1000),
                                    Sequence = ++sequence[j],
                                    Metrics = new Dictionary<string, double> { ["rssi_dbm"] = -40 - Random.Shared.Next(40) },
                                }, cancellationToken: heartbeatCts.Token).ConfigureAwait(false);
                                Interlocked.Increment(ref hbSent);
                            }
                            catch (OperationCanceledException) when (heartbeatCts.IsCancellationRequested) { return; }
                            catch (Exception) { Interlocked.Increment(ref hbFailed); }
                        }
                    }
                }));
            }
            // One full interval so that every fleet device has beaten at least once.
            await Task.Delay(TimeSpan.FromSeconds(interval + 0.5), deadline.Token).ConfigureAwait(false);
            int live = registry.Registry.All.Count(d => d.IsLive);
            int beaten = registry.Registry.All.Count(d => d.HeartbeatInterval == TimeSpan.FromSeconds(interval));
            log.WriteLine($"[registry] heartbeats: {Interlocked.Read(ref hbSent)} sent ({o.Devices / interval:0}/s), {hbFailed} failed; live {live}/{registry.Registry.Count}, with a heartbeat {beaten}");

            // When the registry raised Changed for a probe: after the SQLite upsert (synchronous=FULL) and the index rebuild,
            // before the result is published. Splits "registration processed" from the bus hops around it.
            var stored = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
            registry.Registry.Changed += change =>
            {
                if (change.Kind == RegistryChangeKind.Registered && change.Device.DeviceId.StartsWith("probe-", StringComparison.Ordinal))
                    stored[change.Device.DeviceId] = Stopwatch.GetTimestamp();
            };

            // ---- timed registrations ----
            var modes = new List<ModeResult>();
            int probeIndex = 0;
            foreach (string mode in new[] { "result+route", "poll-route" })
            {
                var m = new ModeResult(mode);
                modes.Add(m);
                for (int k = 0; k < o.Registrations; k++)
                {
                    if (total.Elapsed > TimeSpan.FromSeconds(50)) { log.WriteLine($"[registry] {mode}: stopped after {k} registrations (60 s budget)"); break; }
                    int n = probeIndex++;
                    string id = $"probe-bulb-{n}";
                    string location = $"probe_room_{n}";
                    DeviceRegistration registration = SimulatedDevice.Describe(id, SimulatedKind.Bulb, location);
                    var command = new CapabilityCommand { Capability = ProbeCapability, Location = location, Command = "turn_on" };
                    try
                    {
                        long t0 = mode == "result+route"
                            ? await TimeResultThenRouteAsync(m, probe, controller, engine.Name, registry, results, id, registration, command).ConfigureAwait(false)
                            : await TimePollRouteAsync(m, probe, controller, engine.Name, id, registration, command).ConfigureAwait(false);
                        if (stored.TryRemove(id, out long at)) m.Stored.RecordValue(Micros(t0, at));
                    }
                    catch (Exception e) when (e is TimeoutException or BusPublishException or InvalidOperationException)
                    {
                        m.Failed++;
                        m.FirstError ??= $"{e.GetType().Name}: {e.Message}";
                    }
                    if (o.GapMs > 0) await Task.Delay(TimeSpan.FromMilliseconds(o.GapMs)).ConfigureAwait(false);
                }
                log.WriteLine($"[registry] {mode}: {m.Routable.TotalCount} timed, {m.Failed} failed");
            }
            live = registry.Registry.All.Count(d => d.IsLive);
            long hbTotal = Interlocked.Read(ref hbSent);

            Console.WriteLine();
            Console.WriteLine($"Registry: {o.Devices} fleet devices over {o.Connections} connections, heartbeat every {interval:0.#} s ({o.Devices / interval:0} heartbeats/s, {hbTotal} sent, {hbFailed} failed); " +
                              $"registry now {registry.Registry.Count} devices, {live} live; SQLite {registry.Registry.Store?.JournalMode}/synchronous={registry.Registry.Store?.Synchronous} in {o.TempRoot}");
            Console.WriteLine("Times in microseconds from just before the new device's signed registration is published (same process, Stopwatch):");
            var rows = new List<string[]> { new[] { "mode", "what", "n", "p50 us", "p90 us", "p99 us", "max us", "failed" } };
            foreach (ModeResult m in modes)
            {
                foreach ((string what, LongHistogram h) in m.Histograms())
                {
                    if (h.TotalCount == 0) continue;
                    rows.Add([m.Mode, what, h.TotalCount.ToString(), h.GetValueAtPercentile(50).ToString(), h.GetValueAtPercentile(90).ToString(),
                        h.GetValueAtPercentile(99).ToString(), h.GetMaxValue().ToString(), m.Failed.ToString()]);
                }
            }
            var sb = new System.Text.StringBuilder();
            Program.Table(sb, rows);
            Console.Write(sb.ToString());
            foreach (ModeResult m in modes)
            {
                if (m.Mode == "poll-route" && m.Polls.TotalCount > 0)
                    Console.WriteLine($"poll-route: route requests per registration p50 {m.Polls.GetValueAtPercentile(50)}, max {m.Polls.GetMaxValue()}");
                if (m.Mode == "result+route") Console.WriteLine($"result+route: device not yet in the router's index when its result arrived: {m.NotInIndexAtResult} times");
                if (m.FirstError is not null) Console.WriteLine($"{m.Mode}: first error: {m.FirstError}");
            }
            Console.WriteLine($"Run took {total.Elapsed.TotalSeconds:0.0} s.");
            return 0;
        }
        finally
        {
            await heartbeatCts.CancelAsync().ConfigureAwait(false);
            try { await Task.WhenAll(heartbeatTasks).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false); } catch (Exception) { }
            if (resultSubscription is not null) await Bounded(resultSubscription.DisposeAsync()).ConfigureAwait(false);
            if (controller is not null) await Bounded(controller.DisposeAsync()).ConfigureAwait(false);
            if (probe is not null) await Bounded(probe.DisposeAsync()).ConfigureAwait(false);
            foreach (AliciaBus bus in fleetBuses) await Bounded(bus.DisposeAsync()).ConfigureAwait(false);
            if (engine is not null) await Bounded(engine.DisposeAsync()).ConfigureAwait(false);
            foreach (SigningIdentity id in identities) id.Dispose();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// Mode 1: publish the registration (QoS 1) → its <see cref="RegistrationResult"/> reaches the controller →
    /// the controller sends a <see cref="CapabilityCommand"/> for light@the new room → the routing answer names the device.
    /// </summary>
    private static async Task<long> TimeResultThenRouteAsync(ModeResult m, AliciaBus probe, AliciaBus controller, string engineName, RegistryService registry,
        ConcurrentDictionary<string, TaskCompletionSource<(long At, RegistrationResult Result)>> results, string id, DeviceRegistration registration, CapabilityCommand command)
    {
        var tcs = new TaskCompletionSource<(long, RegistrationResult)>(TaskCreationOptions.RunContinuationsAsynchronously);
        results[id] = tcs;
        try
        {
            long t0 = Stopwatch.GetTimestamp();
            await probe.PublishAsync(registration).ConfigureAwait(false);
            long tAck = Stopwatch.GetTimestamp();
            (long tResult, RegistrationResult result) = await tcs.Task.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            if (!result.Accepted) throw new InvalidOperationException($"registration of {id} refused: {result.Field}: {result.Reason}");
            // In-process cross-check: when the result is out, the router already resolves the device.
            bool inIndex = Array.Exists(registry.Router.Live(command.Capability, command.Location), d => d.DeviceId == id);
            BusMessage<RoutingResult> routed = await controller.RequestAsync<CapabilityCommand, RoutingResult>(command, engineName).ConfigureAwait(false);
            long tRouted = Stopwatch.GetTimestamp();
            if (routed.Data.Status != 200 || !routed.Data.DeviceIds.Contains(id))
                throw new InvalidOperationException($"route {command.Capability}@{command.Location} after the result: {routed.Data.Status} {routed.Data.Reason}");
            if (!inIndex) m.NotInIndexAtResult++;
            m.Ack.RecordValue(Micros(t0, tAck));
            m.Result.RecordValue(Micros(t0, tResult));
            m.RouteOnly.RecordValue(Micros(tResult, tRouted));
            m.Routable.RecordValue(Micros(t0, tRouted));
            return t0;
        }
        finally
        {
            results.TryRemove(id, out _);
        }
    }

    /// <summary>
    /// Mode 2: publish the registration, and from the same moment send route requests for light@the new room back to
    /// back (each awaits its answer) until one names the device; no dependence on the result message.
    /// </summary>
    private static async Task<long> TimePollRouteAsync(ModeResult m, AliciaBus probe, AliciaBus controller, string engineName, string id, DeviceRegistration registration, CapabilityCommand command)
    {
        long t0 = Stopwatch.GetTimestamp();
        Task publish = probe.PublishAsync(registration);
        int polls = 0;
        long limit = t0 + 5 * Stopwatch.Frequency;
        while (true)
        {
            polls++;
            BusMessage<RoutingResult> routed = await controller.RequestAsync<CapabilityCommand, RoutingResult>(command, engineName).ConfigureAwait(false);
            long now = Stopwatch.GetTimestamp();
            if (routed.Data.Status == 200 && routed.Data.DeviceIds.Contains(id))
            {
                await publish.ConfigureAwait(false);
                m.Routable.RecordValue(Micros(t0, now));
                m.Polls.RecordValue(polls);
                return t0;
            }
            if (now > limit) throw new TimeoutException($"{id} not routable after 5 s ({polls} route requests; last: {routed.Data.Status} {routed.Data.Reason})");
        }
    }

    private static long Micros(long from, long to) => Math.Max(0, (to - from) * 1_000_000 / Stopwatch.Frequency);

    private static async Task Bounded(ValueTask task)
    {
        try { await task.AsTask().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false); }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException) { }
    }

    private sealed class ModeResult(string mode)
    {
        public string Mode { get; } = mode;
        public LongHistogram Ack { get; } = new(60_000_000, 3);
        public LongHistogram Result { get; } = new(60_000_000, 3);
        public LongHistogram RouteOnly { get; } = new(60_000_000, 3);
        public LongHistogram Routable { get; } = new(60_000_000, 3);
        public LongHistogram Polls { get; } = new(1_000_000, 3);
        public LongHistogram Stored { get; } = new(60_000_000, 3);
        public int Failed;
        public int NotInIndexAtResult;
        public string? FirstError;

        public IEnumerable<(string, LongHistogram)> Histograms()
        {
            yield return ("registration PUBACK", Ack);
            if (Mode == "result+route") yield return ("stored + indexed (registry Changed event)", Stored);
            yield return ("result received", Result);
            yield return ("route round trip after result", RouteOnly);
            yield return ("ROUTABLE (route answer names it)", Routable);
            if (Mode != "result+route") yield return ("stored + indexed (registry Changed event)", Stored);
        }
    }
}
