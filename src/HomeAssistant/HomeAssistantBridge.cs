using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Registry;
using Microsoft.Extensions.Logging;
using MQTTnet;

namespace Alicia.HomeAssistant;

public sealed class HomeAssistantOptions
{
    /// <summary>HA's MQTT discovery prefix.</summary>
    public string DiscoveryPrefix { get; set; } = "homeassistant";

    /// <summary>Where the plain availability/state/command topics HA reads and writes live (HA cannot read signed envelopes).</summary>
    public string StatePrefix { get; set; } = "alicia-ha";
}

/// <summary>One HA entity for one capability of one device.</summary>
internal sealed record HaEntity(string DeviceId, string Capability, string Component, string NodeId, string ObjectId, string ConfigTopic, string StateTopic, string? CommandTopic, string Config)
{
    public string UniqueId => $"alicia_{NodeId}_{ObjectId}";
    public string EntityId => $"{Component}.{UniqueId}";
}

/// <summary>
/// Mirrors the registry to Home Assistant through MQTT discovery: one retained config per capability under
/// <c>homeassistant/&lt;component&gt;/&lt;node&gt;/&lt;object&gt;/config</c> with device info, unique id and an
/// availability topic driven by the registry's liveness; cleared (empty retained payload) on unregister;
/// everything re-published when HA announces itself on <c>homeassistant/status</c>. HA's commands (plain
/// <c>.../set</c> topics, or signed <see cref="HaCommand"/>s) become signed <see cref="DeviceCommand"/>s to
/// the device; device data becomes HA state (plain state topics, and <see cref="HaState"/> on the bus).
/// </summary>
internal sealed class HomeAssistantBridge(RegistryService registry, HomeAssistantOptions? options = null) : IEngineService
{
    private readonly HomeAssistantOptions _options = options ?? new HomeAssistantOptions();
    private readonly ConcurrentDictionary<string, HaEntity[]> _published = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, HaEntity> _byCommandTopic = new(StringComparer.Ordinal);
    private readonly List<IAsyncDisposable> _subscriptions = [];
    private readonly SemaphoreSlim _gate = new(1, 1);
    private AliciaEngine? _engine;
    private RawMqttLink? _link;
    private int _disposed;
    private ILogger _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    public string Name => "home-assistant";

    /// <summary>HA entities for a device: the component per capability (light, switch, sensor with device_class and unit, notify for announcements).</summary>
    public static List<HaEntity> EntitiesFor(DeviceRecord device, HomeAssistantOptions options)
    {
        string node = NodeId(device.DeviceId);
        var result = new List<HaEntity>();
        foreach (string capability in device.CapabilityNames)
        {
            (string Component, string? DeviceClass, string? Unit, bool Commands)? kind = capability switch
            {
                "light" => ("light", null, null, true),
                "switch" => ("switch", null, null, true),
                "temperature" => ("sensor", "temperature", "°C", false),
                "humidity" => ("sensor", "humidity", "%", false),
                "illuminance" => ("sensor", "illuminance", "lx", false),
                "motion" => ("binary_sensor", "motion", null, false),
                "announcement" => ("notify", null, null, true),
                _ => null, // audio_playback: HA's MQTT integration has no media_player platform; speakers show up as notify
            };
            if (kind is not { } k) continue;
            string objectId = capability;
            string baseTopic = $"{options.StatePrefix}/{node}/{objectId}";
            string? commandTopic = k.Commands ? baseTopic + "/set" : null;
            var buffer = new ArrayBufferWriter<byte>(512);
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteString("name", capability.Replace('_', ' '));
                w.WriteString("unique_id", $"alicia_{node}_{objectId}");
                w.WriteString("object_id", $"alicia_{node}_{objectId}");
                w.WriteString("availability_topic", $"{options.StatePrefix}/{node}/availability");
                w.WriteString("payload_available", "online");
                w.WriteString("payload_not_available", "offline");
                if (k.Component != "notify") w.WriteString("state_topic", baseTopic + "/state");
                if (commandTopic is not null) w.WriteString("command_topic", commandTopic);
                if (k.Component is "light" or "switch" or "binary_sensor") { w.WriteString("payload_on", "ON"); w.WriteString("payload_off", "OFF"); }
                if (k.DeviceClass is not null) w.WriteString("device_class", k.DeviceClass);
                if (k.Unit is not null) { w.WriteString("unit_of_measurement", k.Unit); w.WriteString("state_class", "measurement"); }
                w.WriteStartObject("device");
                w.WriteStartArray("identifiers");
                w.WriteStringValue($"alicia_{node}");
                w.WriteEndArray();
                w.WriteString("name", device.DeviceId);
                w.WriteString("manufacturer", device.Registration.Metadata.Manufacturer);
                w.WriteString("model", device.Registration.Metadata.Model);
                w.WriteString("sw_version", device.Registration.Metadata.Version);
                if (device.Location.Length > 0) w.WriteString("suggested_area", device.Location.Replace('_', ' '));
                w.WriteString("via_device", "alicia");
                w.WriteEndObject();
                w.WriteEndObject();
            }
            result.Add(new HaEntity(device.DeviceId, capability, k.Component, node, objectId,
                $"{options.DiscoveryPrefix}/{k.Component}/{node}/{objectId}/config", baseTopic + "/state", commandTopic, Encoding.UTF8.GetString(buffer.WrittenSpan)));
        }
        return result;
    }

    /// <summary>HA node ids allow <c>[a-zA-Z0-9_-]</c>; other characters of a device id become '_'.</summary>
    public static string NodeId(string deviceId) => string.Create(deviceId.Length, deviceId, static (span, id) =>
    {
        for (int i = 0; i < id.Length; i++) span[i] = char.IsAsciiLetterOrDigit(id[i]) || id[i] is '_' or '-' ? id[i] : '_';
    });

    public IReadOnlyList<Type> StartsAfter { get; } = [typeof(RegistryService)];

    public async Task StartAsync(AliciaEngine engine, CancellationToken cancellationToken)
    {
        _engine = engine;
        _logger = engine.LoggerFactory.CreateLogger<HomeAssistantBridge>();
        _link = await RawMqttLink.ConnectToEngineAsync(engine, $"{engine.Name}-ha-{Random.Shared.Next(0x10000):x4}", _logger,
            connected: first => first ? Task.CompletedTask : PublishAllAsync(CancellationToken.None), cancellationToken: cancellationToken).ConfigureAwait(false);
        _link.Received += OnRawAsync;
        await _link.SubscribeAsync($"{_options.DiscoveryPrefix}/status", cancellationToken).ConfigureAwait(false);
        await _link.SubscribeAsync($"{_options.StatePrefix}/+/+/set", cancellationToken).ConfigureAwait(false);
        registry.Announced += OnAnnouncedAsync;
        _subscriptions.Add(await engine.Bus.SubscribeAsync<DeviceData>((m, ct) => new ValueTask(OnDataAsync(m, ct)),
            new SubscribeOptions { Filter = DeviceData.TopicFilter, ReceiveAll = true }, cancellationToken: cancellationToken).ConfigureAwait(false));
        _subscriptions.Add(await engine.Bus.SubscribeAsync<HaCommand>((m, ct) => new ValueTask(OnHaCommandAsync(m.Data, ct)),
            new SubscribeOptions { ReceiveAll = true }, cancellationToken: cancellationToken).ConfigureAwait(false));
        await PublishAllAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Publishes every device's configs and availability (on start and on HA's birth message).</summary>
    public async Task PublishAllAsync(CancellationToken cancellationToken)
    {
        foreach (DeviceRecord device in registry.Registry.All) await PublishDeviceAsync(device, cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("Home Assistant discovery: {Count} devices published", registry.Registry.Count);
    }

    private async Task OnAnnouncedAsync(RegistryChange change, CancellationToken cancellationToken)
    {
        if (change.Kind == RegistryChangeKind.Removed) await ClearDeviceAsync(change.Device.DeviceId, cancellationToken).ConfigureAwait(false);
        else if (change.Kind == RegistryChangeKind.StateChanged) await PublishAvailabilityAsync(change.Device, cancellationToken).ConfigureAwait(false);
        else await PublishDeviceAsync(change.Device, cancellationToken).ConfigureAwait(false);
    }

    private async Task PublishDeviceAsync(DeviceRecord device, CancellationToken cancellationToken)
    {
        RawMqttLink link = _link!;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            HaEntity[] entities = [.. EntitiesFor(device, _options)];
            if (_published.TryGetValue(device.DeviceId, out HaEntity[]? before))
                foreach (HaEntity gone in before.Where(b => !entities.Any(e => e.ConfigTopic == b.ConfigTopic)))
                {
                    await link.PublishAsync(gone.ConfigTopic, ReadOnlyMemory<byte>.Empty, null, retain: true, cancellationToken).ConfigureAwait(false);
                    if (gone.CommandTopic is not null) _byCommandTopic.TryRemove(gone.CommandTopic, out _);
                }
            foreach (HaEntity e in entities)
            {
                await link.PublishAsync(e.ConfigTopic, Encoding.UTF8.GetBytes(e.Config), EnvelopeJson.ContentType, retain: true, cancellationToken).ConfigureAwait(false);
                if (e.CommandTopic is not null) _byCommandTopic[e.CommandTopic] = e;
            }
            _published[device.DeviceId] = entities;
        }
        finally
        {
            _gate.Release();
        }
        await PublishAvailabilityAsync(device, cancellationToken).ConfigureAwait(false);
    }

    private Task PublishAvailabilityAsync(DeviceRecord device, CancellationToken cancellationToken) =>
        _link!.PublishAsync($"{_options.StatePrefix}/{NodeId(device.DeviceId)}/availability",
            Encoding.UTF8.GetBytes(device.State == DeviceState.Offline ? "offline" : "online"), "text/plain", retain: true, cancellationToken);

    private async Task ClearDeviceAsync(string deviceId, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_published.TryRemove(deviceId, out HaEntity[]? entities)) return;
            foreach (HaEntity e in entities)
            {
                await _link!.PublishAsync(e.ConfigTopic, ReadOnlyMemory<byte>.Empty, null, retain: true, cancellationToken).ConfigureAwait(false);
                if (e.CommandTopic is not null) _byCommandTopic.TryRemove(e.CommandTopic, out _);
            }
            await _link!.PublishAsync($"{_options.StatePrefix}/{NodeId(deviceId)}/availability", ReadOnlyMemory<byte>.Empty, null, retain: true, cancellationToken).ConfigureAwait(false);
            _logger.LogInformation("Home Assistant discovery: '{Device}' cleared", deviceId);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task OnRawAsync(MqttApplicationMessage message)
    {
        string payload = Encoding.UTF8.GetString(message.Payload.ToArray());
        try
        {
            if (message.Topic == $"{_options.DiscoveryPrefix}/status")
            {
                if (payload.Trim() == "online") await PublishAllAsync(CancellationToken.None).ConfigureAwait(false);
                return;
            }
            if (_byCommandTopic.TryGetValue(message.Topic, out HaEntity? entity))
                await SendCommandAsync(entity, payload, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogWarning(e, "Home Assistant message on {Topic} failed", message.Topic);
        }
    }

    private async Task OnHaCommandAsync(HaCommand command, CancellationToken cancellationToken)
    {
        HaEntity? entity = _published.Values.SelectMany(e => e).FirstOrDefault(e => e.EntityId == command.EntityId || e.UniqueId == command.EntityId);
        if (entity is null)
        {
            _logger.LogWarning("HA command for unknown entity '{Entity}'", command.EntityId);
            return;
        }
        string payload = command.Service switch
        {
            "turn_on" => "ON",
            "turn_off" => "OFF",
            _ => command.Data.GetValueOrDefault("message") ?? command.Service,
        };
        await SendCommandAsync(entity, payload, cancellationToken, command.Data).ConfigureAwait(false);
    }

    private async Task SendCommandAsync(HaEntity entity, string payload, CancellationToken cancellationToken, Dictionary<string, string>? data = null)
    {
        DeviceRecord? device = registry.Registry.Get(entity.DeviceId);
        if (device is null) return;
        var command = new DeviceCommand { Capability = entity.Capability, Parameters = data is null ? [] : new Dictionary<string, string>(data) };
        if (entity.Component == "notify")
        {
            command.Command = "announce";
            command.Parameters["text"] = payload;
        }
        else command.Command = payload.Trim().ToUpperInvariant() switch { "ON" => "turn_on", "OFF" => "turn_off", _ => payload.Trim() };
        await _engine!.Bus.PublishAsync(command, new PublishOptions
        {
            Topic = DeviceCommand.BuildTopic(device.DeviceId),
            Destination = device.IsPlain ? EnvelopeHeader.Broadcast : device.Owner,
            Json = device.IsPlain,
            Metadata = new Dictionary<string, string> { ["requested_by"] = "home-assistant" },
        }, cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("HA -> {Device}: {Command} ({Entity})", device.DeviceId, command.Command, entity.EntityId);
    }

    private async Task OnDataAsync(BusMessage<DeviceData> message, CancellationToken cancellationToken)
    {
        if (!DeviceData.TryParseTopic(Encoding.UTF8.GetBytes(message.Topic), out Range idRange)) return;
        string deviceId = message.Topic[idRange];
        DeviceRecord? device = registry.Registry.Get(deviceId);
        if (device is null || device.Owner != message.Source || !_published.TryGetValue(deviceId, out HaEntity[]? entities)) return;
        foreach (HaEntity e in entities)
        {
            string? state = e.Component switch
            {
                "light" or "switch" when message.Data.Values.TryGetValue("on", out double on) => on > 0 ? "ON" : "OFF",
                "sensor" when message.Data.Values.TryGetValue(e.Capability, out double value) => value.ToString(CultureInfo.InvariantCulture),
                _ => null,
            };
            if (state is null) continue;
            await _link!.PublishAsync(e.StateTopic, Encoding.UTF8.GetBytes(state), "text/plain", retain: true, cancellationToken).ConfigureAwait(false);
            var attributes = message.Data.Values.ToDictionary(kv => kv.Key, kv => kv.Value.ToString(CultureInfo.InvariantCulture));
            await _engine!.Bus.PublishAsync(new HaState { EntityId = e.EntityId, State = state, Attributes = attributes }, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        registry.Announced -= OnAnnouncedAsync;
        for (int i = _subscriptions.Count - 1; i >= 0; i--) await _subscriptions[i].DisposeAsync().ConfigureAwait(false);
        if (_link is not null) await _link.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }
}
