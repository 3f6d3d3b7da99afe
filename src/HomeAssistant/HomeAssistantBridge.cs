using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
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
    private readonly ConcurrentDictionary<string, byte> _legacyCleared = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private AliciaEngine? _engine;
    private RawMqttLink? _link;
    private int _disposed;
    private ILogger _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    public string Name => "home-assistant";

    /// <summary>HA entities for a device (see <see cref="HaDiscovery"/>); <paramref name="hubNode"/> names the hub they hang off.</summary>
    public static List<HaEntity> EntitiesFor(DeviceRecord device, HomeAssistantOptions options, string hubNode = "alicia") =>
        HaDiscovery.EntitiesFor(device, options, hubNode);

    /// <summary>The node id of a device in discovery and state topics: its HA slug.</summary>
    public static string NodeId(string deviceId) => HaSlug.Of(deviceId);

    private string HubNode => HaSlug.Of(_engine!.Name);

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
        await PublishHubAsync(cancellationToken).ConfigureAwait(false);
        foreach (DeviceRecord device in registry.Registry.All) await PublishDeviceAsync(device, cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("Home Assistant discovery: {Count} devices published", registry.Registry.Count);
    }

    /// <summary>The hub (this engine) as an HA device with a connectivity sensor: every device's <c>via_device</c> names it.</summary>
    private async Task PublishHubAsync(CancellationToken cancellationToken)
    {
        HaEntity hub = HaDiscovery.HubEntity(_engine!.Name, _options);
        await _link!.PublishAsync(hub.ConfigTopic, Encoding.UTF8.GetBytes(hub.Config), EnvelopeJson.ContentType, retain: true, cancellationToken).ConfigureAwait(false);
        await _link.PublishAsync($"{_options.StatePrefix}/{hub.NodeId}/availability", "online"u8.ToArray(), "text/plain", retain: true, cancellationToken).ConfigureAwait(false);
        await _link.PublishAsync(hub.StateTopic!, "ON"u8.ToArray(), "text/plain", retain: true, cancellationToken).ConfigureAwait(false);
    }

    private async Task OnAnnouncedAsync(RegistryChange change, CancellationToken cancellationToken)
    {
        if (change.Kind == RegistryChangeKind.Removed) await ClearDeviceAsync(change.Device.DeviceId, cancellationToken).ConfigureAwait(false);
        else if (change.Kind == RegistryChangeKind.StateChanged)
        {
            // Only for a device the bridge shows (not one left out for a clashing node id).
            if (_published.ContainsKey(change.Device.DeviceId)) await PublishAvailabilityAsync(change.Device, cancellationToken).ConfigureAwait(false);
        }
        else await PublishDeviceAsync(change.Device, cancellationToken).ConfigureAwait(false);
    }

    private async Task PublishDeviceAsync(DeviceRecord device, CancellationToken cancellationToken)
    {
        RawMqttLink link = _link!;
        bool published = true;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            HaEntity[] entities = [.. EntitiesFor(device, _options, HubNode)];
            // Two device ids with one slug ("a-b", "a_b") would share HA entities: the first keeps them.
            string node = NodeId(device.DeviceId);
            string? clash = node == HubNode ? "the hub" : _published.FirstOrDefault(p => p.Key != device.DeviceId && NodeId(p.Key) == node).Key is { } other ? $"'{other}'" : null;
            if (clash is not null)
            {
                _logger.LogWarning("Home Assistant: '{Device}' has the same HA node id '{Node}' as {Other}; not published", device.DeviceId, node, clash);
                published = false;
                return;
            }
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
            if (_legacyCleared.TryAdd(device.DeviceId, 0))
                foreach (string topic in HaDiscovery.LegacyTopics(device, _options)
                    .Where(t => !entities.Any(e => e.ConfigTopic == t) && t != $"{_options.StatePrefix}/{NodeId(device.DeviceId)}/availability"))
                    await link.PublishAsync(topic, ReadOnlyMemory<byte>.Empty, null, retain: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
        if (published) await PublishAvailabilityAsync(device, cancellationToken).ConfigureAwait(false);
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
        await SendCommandAsync(entity, HaEntity.PayloadOf(command), cancellationToken, command.Data).ConfigureAwait(false);
    }

    private async Task SendCommandAsync(HaEntity entity, string payload, CancellationToken cancellationToken, Dictionary<string, string>? data = null)
    {
        DeviceRecord? device = registry.Registry.Get(entity.DeviceId);
        if (device is null) return;
        DeviceCommand? command = entity.ToCommand(payload);
        if (command is null)
        {
            _logger.LogWarning("HA command for {Entity} ignored: '{Payload}' means nothing to a {Component}", entity.EntityId, Untrusted(payload), entity.Component);
            return;
        }
        // A service call's other data (brightness, ...) goes along unless the payload already set it.
        if (data is not null) foreach ((string key, string value) in data) command.Parameters.TryAdd(key, value);
        await _engine!.Bus.PublishAsync(command, new PublishOptions
        {
            Topic = DeviceCommand.BuildTopic(device.DeviceId),
            Destination = device.IsPlain ? EnvelopeHeader.Broadcast : device.Owner,
            Json = device.IsPlain,
            Metadata = new Dictionary<string, string> { ["requested_by"] = "home-assistant" },
        }, cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("HA -> {Device}: {Command} ({Entity})", device.DeviceId, command.Command, entity.EntityId);
    }

    /// <summary>What HA (or anyone who may write a command topic) sent, safe to log: no control characters, bounded.</summary>
    private static string Untrusted(string text)
    {
        string shown = text.Length > 64 ? text[..64] + "..." : text;
        return string.Create(shown.Length, shown, static (span, t) => { for (int i = 0; i < t.Length; i++) span[i] = char.IsControl(t[i]) ? '?' : t[i]; });
    }

    private async Task OnDataAsync(BusMessage<DeviceData> message, CancellationToken cancellationToken)
    {
        if (!DeviceData.TryParseTopic(Encoding.UTF8.GetBytes(message.Topic), out Range idRange)) return;
        string deviceId = message.Topic[idRange];
        DeviceRecord? device = registry.Registry.Get(deviceId);
        if (device is null || !_published.TryGetValue(deviceId, out HaEntity[]? entities)) return;
        // A signed device speaks as its owner; a plain one as itself, vouched for by the gateway.
        bool fromDevice = device.Owner == message.Source
            || (device.IsPlain && message.Envelope.AttestedBy is not null && device.Owner == DeviceRecord.PlainOwnerPrefix + message.Source);
        if (!fromDevice) return;
        foreach (HaEntity e in entities)
        {
            if (e.StateTopic is null || e.StateFrom(message.Data.Values) is not { } state) continue;
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
        if (_link is not null)
        {
            // The hub goes unavailable in HA when the engine stops (its devices keep their own availability).
            if (_engine is not null && _link.IsConnected)
            {
                try
                {
                    await _link.PublishAsync($"{_options.StatePrefix}/{HubNode}/availability", "offline"u8.ToArray(), "text/plain", retain: true, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    _logger.LogDebug(e, "Home Assistant: the hub's offline availability was not published");
                }
            }
            await _link.DisposeAsync().ConfigureAwait(false);
        }
        _gate.Dispose();
    }
}
