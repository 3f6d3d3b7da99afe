using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Registry;
using Alicia.Engine.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;

namespace Alicia.Tools.Simulation;

/// <summary>The kinds of device the simulator brings up.</summary>
internal enum SimulatedKind
{
    /// <summary>An ESP32 temperature/humidity sensor publishing telemetry.</summary>
    Sensor,
    /// <summary>A smart bulb obeying on/off/brightness/colour temperature (kelvin).</summary>
    Bulb,
    /// <summary>A smart switch obeying on/off.</summary>
    Switch,
    /// <summary>A Sonos-like speaker accepting announcements.</summary>
    Speaker,
}

/// <summary>
/// One simulated device, behaving as real firmware should: its own MQTT connection with a last will
/// (a plain-JSON death notice carrying this connection's birth sequence), a signed registration and
/// birth on every (re)connect, signed heartbeats in the service health schema, telemetry, and signed
/// state after each verified command. <see cref="KillAsync"/> drops the connection as a crash would.
/// </summary>
internal sealed class SimulatedDevice : IAsyncDisposable
{
    private readonly EnvelopeSigner _signer;
    private readonly EnvelopeVerifier _verifier;
    private readonly BrokerEndpoint _endpoint;
    private readonly ILogger _logger;
    private readonly TimeProvider _clock;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _stateLock = new();
    private RawMqttLink? _link;
    private Task? _heartbeat;
    private long _birthSequence;
    private long _heartbeatSequence;

    /// <summary>Broker credentials (a gateway-protected broker); the client id is then <c>{user}:{device id}</c>.</summary>
    public (string User, byte[] Password)? Credentials { get; init; }

    public SimulatedDevice(string deviceId, SimulatedKind kind, string location, EnvelopeSigner signer, EnvelopeVerifier verifier,
        BrokerEndpoint endpoint, TimeSpan heartbeatInterval, ILogger? logger = null, TimeProvider? clock = null)
    {
        DeviceId = deviceId;
        Kind = kind;
        Location = location;
        _signer = signer;
        _verifier = verifier;
        _endpoint = endpoint;
        HeartbeatInterval = heartbeatInterval;
        _logger = logger ?? NullLogger.Instance;
        _clock = clock ?? TimeProvider.System;
        Registration = Describe(deviceId, kind, location);
    }

    public string DeviceId { get; }
    public SimulatedKind Kind { get; }
    public string Location { get; }
    public TimeSpan HeartbeatInterval { get; }
    public DeviceRegistration Registration { get; }
    public long BirthSequence => Interlocked.Read(ref _birthSequence);

    /// <summary>The device's state as its commands left it (on, brightness, last_announcement).</summary>
    public Dictionary<string, string> State { get; } = new(StringComparer.Ordinal) { ["on"] = "false" };

    /// <summary>Raised for every verified command the device obeyed.</summary>
    public event Action<SimulatedDevice, DeviceCommand>? CommandReceived;

    /// <summary>Raised after each registration result addressed to this device.</summary>
    public event Action<SimulatedDevice, RegistrationResult>? RegistrationAnswered;

    public static DeviceRegistration Describe(string deviceId, SimulatedKind kind, string location)
    {
        static Capability Cap(string name, params CapabilityParameter[] parameters) => new() { Name = name, Version = "1.0", Parameters = [.. parameters] };
        static CapabilityParameter P(string name, string type, string? unit = null, double? min = null, double? max = null) =>
            new() { Name = name, Type = type, Unit = unit, Min = min, Max = max };
        (string type, List<Capability> caps, CapabilityConstraints constraints, string manufacturer, string model) = kind switch
        {
            SimulatedKind.Sensor => ("sensor", new List<Capability> { Cap("temperature", P("value", "float", "°C", -40, 85)), Cap("humidity", P("value", "float", "%", 0, 100)) },
                new CapabilityConstraints(), "Espressif", "ESP32-DHT22"),
            SimulatedKind.Bulb => ("actuator", new List<Capability> { Cap("light", P("on", "bool"), P("brightness", "int", null, 0, 255), P("color_temp_kelvin", "int", "K", 2000, 6500)) },
                new CapabilityConstraints { RateLimit = "20/second", LatencyRequirement = "100ms" }, "Signify", "Hue White A19"),
            SimulatedKind.Switch => ("actuator", new List<Capability> { Cap("switch", P("on", "bool")) },
                new CapabilityConstraints { RateLimit = "20/second" }, "Shelly", "Plus 1"),
            _ => ("speaker", new List<Capability> { Cap("audio_playback", P("url", "string"), P("volume", "float", null, 0, 1)), Cap("announcement", P("text", "string"), P("volume", "float", null, 0, 1)), Cap("volume_control", P("volume", "int", "%", 0, 100)) },
                new CapabilityConstraints { MaxConnections = 2, RateLimit = "10/second", LatencyRequirement = "50ms" }, "Sonos", "One SL"),
        };
        return new DeviceRegistration
        {
            DeviceId = deviceId,
            DeviceType = type,
            Capabilities = new DeviceCapabilities { Capabilities = caps, Constraints = constraints },
            Endpoints = new Dictionary<string, string> { ["command"] = DeviceCommand.BuildTopic(deviceId), ["status"] = DeviceStatus.BuildTopic(deviceId), ["data"] = DeviceData.BuildTopic(deviceId) },
            Metadata = new DeviceMetadata { Manufacturer = manufacturer, Model = model, Location = location, Version = "1.0.0-sim" },
        };
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        string clientId = Credentials is { } c ? $"{c.User}:{DeviceId}" : $"sim-{DeviceId}-{Random.Shared.Next(0x10000):x4}";
        _link = await RawMqttLink.ConnectAsync(_endpoint, clientId, _logger, Will, OnConnectedAsync, cancellationToken, Credentials?.User, Credentials?.Password).ConfigureAwait(false);
        _link.Received += OnMessageAsync;
        await _link.SubscribeAsync(DeviceCommand.BuildTopic(DeviceId), cancellationToken).ConfigureAwait(false);
        await _link.SubscribeAsync(RegistrationResult.BuildTopic(DeviceId), cancellationToken).ConfigureAwait(false);
        await _link.SubscribeAsync(DiscoveryReannounce.Topic, cancellationToken).ConfigureAwait(false);
        await AnnounceAsync(cancellationToken).ConfigureAwait(false);
        _heartbeat = Task.Run(() => HeartbeatLoopAsync(_stopping.Token));
    }

    /// <summary>The will of the next connection: a new birth sequence (monotonic across restarts: at least the Unix time in ms).</summary>
    private MqttApplicationMessage Will()
    {
        long next = Math.Max(Interlocked.Read(ref _birthSequence) + 1, _clock.GetUtcNow().ToUnixTimeMilliseconds());
        Interlocked.Exchange(ref _birthSequence, next);
        var status = new DeviceStatus { State = DeviceState.Offline, BirthSequence = next, Attributes = { ["cause"] = "will" } };
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer)) DeviceStatus.WriteJson(writer, status);
        return new MqttApplicationMessage
        {
            Topic = DeviceStatus.BuildTopic(DeviceId),
            Payload = new ReadOnlySequence<byte>(buffer.WrittenMemory),
            ContentType = EnvelopeJson.ContentType,
        };
    }

    private Task OnConnectedAsync(bool first) => first ? Task.CompletedTask : AnnounceAsync(_stopping.Token);

    /// <summary>Registration, then birth (online, with this connection's birth sequence).</summary>
    public async Task AnnounceAsync(CancellationToken cancellationToken = default)
    {
        await PublishSignedAsync(DeviceRegistration.Topic, Registration, cancellationToken).ConfigureAwait(false);
        await PublishSignedAsync(DeviceStatus.BuildTopic(DeviceId), new DeviceStatus { State = DeviceState.Online, BirthSequence = BirthSequence }, cancellationToken).ConfigureAwait(false);
    }

    public Task UnregisterAsync(CancellationToken cancellationToken = default) =>
        PublishSignedAsync(DeviceUnregistration.Topic, new DeviceUnregistration { DeviceId = DeviceId, Reason = "simulator stopped" }, cancellationToken);

    public async Task PublishSignedAsync<T>(string topic, T data, CancellationToken cancellationToken = default) where T : IAliciaMessage<T>
    {
        RawMqttLink link = _link ?? throw new InvalidOperationException("not started");
        var buffer = new ArrayBufferWriter<byte>(512);
        _signer.Encode(buffer, topic, _signer.CreateEnvelope(data, EnvelopeHeader.Broadcast, T.DefaultKind, _clock));
        await link.PublishAsync(topic, buffer.WrittenMemory, AliciaBus.MessagePackContentType, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private async Task HeartbeatLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(HeartbeatInterval, _clock);
        try
        {
            do
            {
                if (_link is not { IsConnected: true }) continue;
                try
                {
                    await PublishSignedAsync(ServiceHealth.Topic, new ServiceHealth
                    {
                        Service = DeviceId,
                        Status = HealthStatus.Healthy,
                        LastHeartbeat = _clock.GetUtcNow(),
                        IntervalMs = (int)HeartbeatInterval.TotalMilliseconds,
                        Sequence = Interlocked.Increment(ref _heartbeatSequence),
                        Metrics = new Dictionary<string, double> { ["rssi_dbm"] = -40 - Random.Shared.Next(40) },
                    }, cancellationToken).ConfigureAwait(false);
                    if (Kind == SimulatedKind.Sensor) await PublishTelemetryAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _logger.LogDebug(e, "Simulated device {Device}: heartbeat failed", DeviceId);
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { }
    }

    private async Task PublishTelemetryAsync(CancellationToken cancellationToken)
    {
        double hour = _clock.GetLocalNow().TimeOfDay.TotalHours;
        double temperature = Math.Round(20 + 2 * Math.Sin(hour / 24 * 2 * Math.PI) + Random.Shared.NextDouble() * 0.4, 2);
        double humidity = Math.Round(45 + Random.Shared.NextDouble() * 5, 1);
        await PublishSignedAsync(SensorTelemetry.Topic, new SensorTelemetry { DeviceId = DeviceId, Sensor = "temperature", Value = temperature, Unit = "°C", Location = Location }, cancellationToken).ConfigureAwait(false);
        await PublishSignedAsync(SensorTelemetry.Topic, new SensorTelemetry { DeviceId = DeviceId, Sensor = "humidity", Value = humidity, Unit = "%", Location = Location }, cancellationToken).ConfigureAwait(false);
        await PublishSignedAsync(DeviceData.BuildTopic(DeviceId), new DeviceData { Values = { ["temperature"] = temperature, ["humidity"] = humidity } }, cancellationToken).ConfigureAwait(false);
    }

    private async Task OnMessageAsync(MqttApplicationMessage message)
    {
        byte[] payload = message.Payload.ToArray();
        string topic = message.Topic;
        try
        {
            if (topic == DiscoveryReannounce.Topic)
            {
                if (_verifier.Verify(topic, payload, out Envelope<DiscoveryReannounce> _).Accepted) await AnnounceAsync(_stopping.Token).ConfigureAwait(false);
                return;
            }
            if (topic.EndsWith("/result", StringComparison.Ordinal))
            {
                if (_verifier.Verify(topic, payload, out Envelope<RegistrationResult> result).Accepted) RegistrationAnswered?.Invoke(this, result.Data);
                return;
            }
            Verdict verdict = _verifier.Verify(topic, payload, out Envelope<DeviceCommand> command);
            if (!verdict.Accepted)
            {
                _logger.LogWarning("Simulated device {Device} refused a command: {Verdict}", DeviceId, verdict.ToString());
                return;
            }
            await ObeyAsync(command.Data).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _logger.LogWarning(e, "Simulated device {Device}: message on {Topic} failed", DeviceId, topic);
        }
    }

    private async Task ObeyAsync(DeviceCommand command)
    {
        var values = new Dictionary<string, double>();
        lock (_stateLock)
        {
            switch (command.Command)
            {
                case "turn_on" or "on": State["on"] = "true"; break;
                case "turn_off" or "off": State["on"] = "false"; break;
                case "toggle": State["on"] = State["on"] == "true" ? "false" : "true"; break;
                case "set_volume" when command.Parameters.TryGetValue("volume", out string? v) && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double volume):
                    State["volume"] = Math.Clamp(volume, 0, 100).ToString(CultureInfo.InvariantCulture);
                    break;
                case "announce" or "play":
                    State["last_announcement"] = command.Parameters.GetValueOrDefault("text") ?? command.Parameters.GetValueOrDefault("url") ?? "";
                    break;
            }
            if (command.Parameters.TryGetValue("brightness", out string? b) && int.TryParse(b, NumberStyles.Integer, CultureInfo.InvariantCulture, out int brightness))
            {
                State["brightness"] = Math.Clamp(brightness, 0, 255).ToString(CultureInfo.InvariantCulture);
                if (brightness > 0) State["on"] = "true";
            }
            if (command.Parameters.TryGetValue("color_temp_kelvin", out string? k) && int.TryParse(k, NumberStyles.Integer, CultureInfo.InvariantCulture, out int kelvin))
                State["color_temp_kelvin"] = Math.Clamp(kelvin, 2000, 6500).ToString(CultureInfo.InvariantCulture);
            values["on"] = State["on"] == "true" ? 1 : 0;
            if (State.TryGetValue("brightness", out string? current)) values["brightness"] = double.Parse(current, CultureInfo.InvariantCulture);
            if (State.TryGetValue("color_temp_kelvin", out string? white)) values["color_temp_kelvin"] = double.Parse(white, CultureInfo.InvariantCulture);
            if (State.TryGetValue("volume", out string? level)) values["volume"] = double.Parse(level, CultureInfo.InvariantCulture);
        }
        _logger.LogInformation("Simulated {Kind} {Device} in {Location}: {Command} {Parameters}", Kind, DeviceId, Location, command.Command,
            string.Join(",", command.Parameters.Select(kv => kv.Key + "=" + kv.Value)));
        CommandReceived?.Invoke(this, command);
        await PublishSignedAsync(DeviceData.BuildTopic(DeviceId), new DeviceData { Values = values }, _stopping.Token).ConfigureAwait(false);
    }

    /// <summary>Stops heartbeats (and telemetry) but keeps the connection: a hung device, which only liveness can notice.</summary>
    public async Task PauseHeartbeatsAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_heartbeat is not null) { try { await _heartbeat.ConfigureAwait(false); } catch (OperationCanceledException) { } }
    }

    /// <summary>Drops the connection without DISCONNECT, as a crash or power loss would: the broker sends the will.</summary>
    public async Task KillAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_link is not null) await _link.AbortAsync().ConfigureAwait(false);
        if (_heartbeat is not null) { try { await _heartbeat.ConfigureAwait(false); } catch (OperationCanceledException) { } }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopping.IsCancellationRequested) await _stopping.CancelAsync().ConfigureAwait(false);
        if (_heartbeat is not null) { try { await _heartbeat.ConfigureAwait(false); } catch (OperationCanceledException) { } }
        if (_link is not null) await _link.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
