using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security;
using Alicia.Engine.Security.Gateway;
using Microsoft.Extensions.Logging;
using MQTTnet;

namespace Alicia.Engine.Registry;

/// <summary>
/// The device registry as an engine service: discovery (register / unregister, signed MessagePack or JSON
/// envelopes, and plain JSON from devices that cannot sign), liveness (births and MQTT wills with a birth
/// sequence, heartbeats, a sweep), capability announcements, capability routing, and the registry API
/// (<see cref="RegistryRequest"/>) the CLI uses.
/// <para>
/// Discovery and device status arrive on a raw MQTT subscription (<see cref="RawMqttLink"/>), not on the
/// signed bus: the bus would refuse plain JSON registrations and wills as unsigned. Signed messages on that
/// path are verified here with the engine's own verifier (same trust store, replay filter and metrics), so
/// the raw path adds no trust: plain JSON is accepted only as a registration of an id no signed identity
/// holds, and a will only as a death notice for the current birth sequence.
/// </para>
/// </summary>
public sealed class RegistryService : IEngineService, IDevicePolicy
{
    internal const string InvalidIdTopicSegment = "_invalid";

    private readonly RegistryOptions _options;
    private readonly Channel<MqttApplicationMessage> _inbox = Channel.CreateBounded<MqttApplicationMessage>(new BoundedChannelOptions(4096) { SingleReader = true });
    private readonly Channel<RegistryChange> _changes = Channel.CreateUnbounded<RegistryChange>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<IAsyncDisposable> _subscriptions = [];
    private readonly List<Task> _loops = [];
    private AliciaEngine? _engine;
    private ILogger _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    private RegistryStore? _store;
    private RawMqttLink? _link;
    private bool _registryStarted;

    internal RegistryService(RegistryOptions? options = null) => _options = options ?? new RegistryOptions();

    public IReadOnlyList<Type> StartsAfter { get; } = [typeof(SecurityGateway)];

    // Parsed once, when the device registered (DeviceRecord.RateLimit), not at every connect.
    RateLimit? IDevicePolicy.RateLimitOf(string identity) => _registryStarted ? Registry.Get(identity)?.RateLimit : null;

    bool IDevicePolicy.IsLoaded => Volatile.Read(ref _registryStarted);

    IReadOnlyList<string> IDevicePolicy.CapabilityTopicsOf(string identity) =>
        _registryStarted && Registry.Get(identity) is { } device
            ? device.Registration.Capabilities.Capabilities.SelectMany(c => c.Endpoints.Input).Where(t => !string.IsNullOrEmpty(t)).ToArray()
            : [];

    public string Name => "registry";

    internal DeviceRegistry Registry { get; private set; } = null!;
    internal CapabilityRouter Router { get; private set; } = null!;

    /// <summary>Raised after a device's registration change was announced (for bridges; runs on the announcer).</summary>
    internal event Func<RegistryChange, CancellationToken, Task>? Announced;

    private AliciaEngine Engine => _engine ?? throw new InvalidOperationException("the registry is not started");

    /// <summary>The engine itself administers the registry (null requester); anyone else is checked against its owner and the administrators.</summary>
    private string? AsRequester(string source) => string.Equals(source, Engine.Name, StringComparison.Ordinal) ? null : source;
    private AliciaBus Bus => Engine.Bus;

    public async Task StartAsync(AliciaEngine engine, CancellationToken cancellationToken)
    {
        _engine = engine;
        _logger = engine.LoggerFactory.CreateLogger<RegistryService>();
        string path = string.IsNullOrEmpty(_options.DatabasePath) ? Path.Combine(engine.Options.DataDirectory, "registry.db") : _options.DatabasePath;
        _store = new RegistryStore(path);
        Registry = new DeviceRegistry(_store, _options, engine.Clock, engine.LoggerFactory.CreateLogger<DeviceRegistry>());
        Volatile.Write(ref _registryStarted, true);
        Router = new CapabilityRouter(Registry, engine.Clock, engine.LoggerFactory.CreateLogger<CapabilityRouter>());
        Registry.Changed += change => _changes.Writer.TryWrite(change);
        _logger.LogInformation("Registry: {Count} devices loaded from {Path} (journal {Journal}, synchronous {Sync})",
            Registry.Count, _store.Path, _store.JournalMode, _store.Synchronous);

        _loops.Add(Task.Run(() => InboxLoopAsync(_stopping.Token)));
        _loops.Add(Task.Run(() => AnnounceLoopAsync(_stopping.Token)));
        _loops.Add(Task.Run(() => SweepLoopAsync(_stopping.Token)));

        _link = await RawMqttLink.ConnectToEngineAsync(engine, $"{engine.Name}-registry-{Random.Shared.Next(0x10000):x4}", _logger,
            connected: first => first ? Task.CompletedTask : ReannounceAsync("the registry's broker connection came back"), cancellationToken: cancellationToken).ConfigureAwait(false);
        _link.Received += OnRawMessageAsync;
        await _link.SubscribeAsync(DeviceRegistration.TopicFilter, cancellationToken).ConfigureAwait(false);
        await _link.SubscribeAsync(DeviceUnregistration.TopicFilter, cancellationToken).ConfigureAwait(false);
        await _link.SubscribeAsync(DeviceStatus.TopicFilter, cancellationToken).ConfigureAwait(false);

        _subscriptions.Add(await Bus.SubscribeAsync<ServiceHealth>((m, _) =>
        {
            Registry.Heartbeat(m.Source, m.Data);
            return default;
        }, new SubscribeOptions { ReceiveAll = true }, cancellationToken: cancellationToken).ConfigureAwait(false));
        _subscriptions.Add(await Bus.RespondAsync<RegistryRequest, RegistryResponse>((m, _) => ValueTask.FromResult(HandleRequest(m)), cancellationToken: cancellationToken).ConfigureAwait(false));
        _subscriptions.Add(await Bus.RespondAsync<CapabilityCommand, RoutingResult>((m, ct) => RouteAsync(m.Data, m.Source, ct), cancellationToken: cancellationToken).ConfigureAwait(false));
        Bus.Reconnected += OnBusReconnected;

        await ReannounceAsync("registry started").ConfigureAwait(false);
    }

    private void OnBusReconnected() => _ = ReannounceAsync("the broker connection came back");

    /// <summary>Asks every device to register and announce its birth again (after a restart of the registry or the broker).</summary>
    private async Task ReannounceAsync(string reason)
    {
        try
        {
            await Bus.PublishAsync(new DiscoveryReannounce { Reason = reason }, cancellationToken: _stopping.Token).ConfigureAwait(false);
            _logger.LogInformation("Asked every device to re-announce ({Reason})", reason);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogWarning(e, "Re-announce request failed");
        }
    }

    // ---- raw discovery path ----

    private async Task OnRawMessageAsync(MqttApplicationMessage message)
    {
        if (message.Payload.Length > _options.MaxRegistrationBytes)
        {
            _logger.LogWarning("Refused {Bytes}-byte message on {Topic}: larger than {Max} bytes", message.Payload.Length, Untrusted.Escape(message.Topic), _options.MaxRegistrationBytes);
            return;
        }
        // Copy: MQTTnet may reuse the payload buffer once this handler returns.
        var copy = new MqttApplicationMessage
        {
            Topic = message.Topic,
            Payload = new ReadOnlySequence<byte>(message.Payload.ToArray()),
            ContentType = message.ContentType,
        };
        await _inbox.Writer.WriteAsync(copy, _stopping.Token).ConfigureAwait(false);
    }

    private async Task InboxLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (MqttApplicationMessage message in _inbox.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await HandleRawAsync(message, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    _logger.LogError(e, "Registry failed to handle a message on {Topic}", Untrusted.Escape(message.Topic));
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { }
    }

    private enum Format { MessagePack, JsonEnvelope, PlainJson }

    private static Format Detect(MqttApplicationMessage message, ReadOnlySpan<byte> payload)
    {
        bool json = string.Equals(message.ContentType, EnvelopeJson.ContentType, StringComparison.OrdinalIgnoreCase)
            || (message.ContentType is null && payload.TrimStart(" \t\r\n"u8) is [(byte)'{', ..]);
        if (!json) return Format.MessagePack;
        return IsJsonEnvelope(payload) ? Format.JsonEnvelope : Format.PlainJson;
    }

    /// <summary>A JSON envelope has <c>message_id</c>/<c>payload</c>/<c>security</c> at the top; a plain registration has <c>device_id</c>.</summary>
    private static bool IsJsonEnvelope(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 16 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("security"u8) || reader.ValueTextEquals("payload"u8) || reader.ValueTextEquals("message_id"u8)) return true;
                reader.Read();
                reader.TrySkip();
            }
        }
        catch (JsonException) { }
        return false;
    }

    private async Task HandleRawAsync(MqttApplicationMessage message, CancellationToken cancellationToken)
    {
        ReadOnlySpan<byte> payload = message.Payload.FirstSpan;
        string topic = message.Topic;
        Format format = Detect(message, payload);
        ReadOnlyMemory<byte> mark = VerifiedMark.Find(message.UserProperties).ToArray(); // the gateway's: verified once, at the door
        if (topic == DeviceRegistration.Topic) await HandleRegisterAsync(topic, format, message.Payload.First, mark, cancellationToken).ConfigureAwait(false);
        else if (topic == DeviceUnregistration.Topic) await HandleUnregisterAsync(topic, format, message.Payload.First, mark, cancellationToken).ConfigureAwait(false);
        else if (DeviceStatus.TryParseTopic(Encoding.UTF8.GetBytes(topic), out Range idRange))
        {
            string deviceId = topic[idRange];
            HandleStatus(topic, deviceId, format, payload, mark.Span);
        }
    }

    private bool TryVerify<T>(string topic, Format format, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> mark, out Envelope<T> envelope) where T : IAliciaMessage<T>
    {
        Verdict verdict = Engine.Verifier.VerifyUnlessMarked(topic, payload, format == Format.JsonEnvelope, mark, out envelope);
        if (verdict.Accepted) return true;
        _logger.LogWarning("Refused {Type} on {Topic}: {Verdict}", typeof(T).Name, Untrusted.Escape(topic), Untrusted.Escape(verdict.ToString()));
        return false;
    }

    private async Task HandleRegisterAsync(string topic, Format format, ReadOnlyMemory<byte> payload, ReadOnlyMemory<byte> mark, CancellationToken cancellationToken)
    {
        DeviceRegistration registration;
        string owner;
        string requestId = "";
        bool plain = format == Format.PlainJson;
        if (!plain)
        {
            if (!TryVerify(topic, format, payload.Span, mark.Span, out Envelope<DeviceRegistration> envelope)) return;
            registration = envelope.Data;
            owner = envelope.Source;
            requestId = envelope.MessageId.ToString();
        }
        else
        {
            string claimedId = ExtractDeviceId(payload.Span);
            if (!_options.AcceptPlainRegistrations)
            {
                Registry.Metrics.Registration("refused", "signature");
                await PublishResultAsync(claimedId, new ValidationError("security.signature", "this registry accepts only signed registrations"), "", "refused", json: true, cancellationToken).ConfigureAwait(false);
                return;
            }
            try
            {
                registration = RegistryStore.FromPlainJson(payload.Span);
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
            {
                var error = new ValidationError(FieldOf(e.Message), $"not a valid registration: {e.Message}");
                Registry.Metrics.Registration("refused", error.Field);
                _logger.LogWarning("Plain JSON registration refused: {Error}", Untrusted.Escape(error.ToString()));
                await PublishResultAsync(claimedId, error, "", "refused", json: true, cancellationToken).ConfigureAwait(false);
                return;
            }
            owner = DeviceRecord.PlainOwnerPrefix + registration.DeviceId;
        }

        RegistrationOutcome outcome = await Registry.RegisterAsync(registration, owner).ConfigureAwait(false);
        await PublishResultAsync(registration.DeviceId, outcome.Error, requestId, outcome.Outcome, plain, cancellationToken).ConfigureAwait(false);
    }

    private async Task HandleUnregisterAsync(string topic, Format format, ReadOnlyMemory<byte> payload, ReadOnlyMemory<byte> mark, CancellationToken cancellationToken)
    {
        DeviceUnregistration request;
        string requester;
        string requestId = "";
        bool plain = format == Format.PlainJson;
        if (!plain)
        {
            if (!TryVerify(topic, format, payload.Span, mark.Span, out Envelope<DeviceUnregistration> envelope)) return;
            request = envelope.Data;
            requester = envelope.Source;
            requestId = envelope.MessageId.ToString();
        }
        else
        {
            try
            {
                var reader = new Utf8JsonReader(payload.Span, new JsonReaderOptions { MaxDepth = 8 });
                reader.Read();
                request = DeviceUnregistration.ReadJson(ref reader);
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                _logger.LogWarning("Plain JSON unregistration refused: {Error}", Untrusted.Escape(e.Message));
                return;
            }
            requester = DeviceRecord.PlainOwnerPrefix + request.DeviceId;
        }
        RegistrationOutcome outcome = RegistrationValidator.CheckId(request.DeviceId) is { } idError
            ? new RegistrationOutcome("refused", new ValidationError("device_id", idError), null)
            : await Registry.UnregisterAsync(request.DeviceId, AsRequester(requester), string.IsNullOrEmpty(request.Reason) ? "unregistered by the device" : request.Reason).ConfigureAwait(false);
        await PublishResultAsync(request.DeviceId, outcome.Error, requestId, outcome.Outcome, plain, cancellationToken).ConfigureAwait(false);
    }

    private void HandleStatus(string topic, string deviceId, Format format, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> mark)
    {
        if (format != Format.PlainJson)
        {
            if (!TryVerify(topic, format, payload, mark, out Envelope<DeviceStatus> envelope)) return;
            Registry.Birth(deviceId, envelope.Source, envelope.Data.State, envelope.Data.BirthSequence);
            return;
        }
        // Unsigned: only a will (a death notice) is honoured, and only for the current birth sequence.
        DeviceStatus status;
        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 8 });
            reader.Read();
            status = DeviceStatus.ReadJson(ref reader);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            _logger.LogDebug("Ignored unsigned status on {Topic}: {Error}", Untrusted.Escape(topic), Untrusted.Escape(e.Message));
            return;
        }
        if (status.State != DeviceState.Offline)
        {
            _logger.LogWarning("Ignored unsigned '{State}' status on {Topic}: only a death notice may be unsigned", status.State, Untrusted.Escape(topic));
            return;
        }
        Registry.Death(deviceId, status.BirthSequence);
    }

    private async Task PublishResultAsync(string deviceId, ValidationError? error, string requestId, string outcome, bool json, CancellationToken cancellationToken)
    {
        string segment = RegistrationValidator.CheckId(deviceId) is null ? deviceId : InvalidIdTopicSegment;
        var result = new RegistrationResult
        {
            DeviceId = deviceId ?? "",
            Accepted = error is null,
            Field = error?.Field ?? "",
            Reason = error?.Reason ?? "",
            RequestId = requestId,
            Outcome = outcome,
        };
        try
        {
            await Bus.PublishAsync(result, new PublishOptions { Topic = RegistrationResult.BuildTopic(segment), Json = json }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _logger.LogWarning(e, "Could not publish the registration result for '{Device}'", Untrusted.Escape(deviceId));
        }
    }

    /// <summary>Best effort: the device_id a malformed plain registration claims, so its refusal reaches it.</summary>
    private static string ExtractDeviceId(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 16 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return "";
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool id = reader.ValueTextEquals("device_id"u8);
                reader.Read();
                if (id) return reader.TokenType == JsonTokenType.String ? reader.GetString() ?? "" : "";
                reader.TrySkip();
            }
        }
        catch (JsonException) { }
        return "";
    }

    /// <summary>The generated JSON readers name the field in quotes ("field 'device_type' of ..."): hand that back.</summary>
    private static string FieldOf(string message)
    {
        int start = message.IndexOf("field '", StringComparison.Ordinal);
        if (start < 0) return "json";
        start += 7;
        int end = message.IndexOf('\'', start);
        return end > start ? message[start..end] : "json";
    }

    // ---- announcements and liveness ----

    private async Task AnnounceLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (RegistryChange change in _changes.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                DeviceRecord d = change.Device;
                bool removed = change.Kind == RegistryChangeKind.Removed;
                var announcement = new CapabilityAnnouncement
                {
                    DeviceId = d.DeviceId,
                    DeviceType = d.DeviceType,
                    Capabilities = removed ? new DeviceCapabilities() : d.Registration.Capabilities,
                    Location = d.Location,
                    Online = !removed && d.State != DeviceState.Offline,
                };
                try
                {
                    await Bus.PublishAsync(announcement, new PublishOptions { Retain = true }, cancellationToken).ConfigureAwait(false);
                    if (Announced is { } announced) await announced(change, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _logger.LogWarning(e, "Announcement for '{Device}' failed", Untrusted.Escape(d.DeviceId));
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { }
    }

    private async Task SweepLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.SweepInterval, Engine.Clock);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try { Registry.Sweep(); }
                catch (Exception e) when (e is not OperationCanceledException) { _logger.LogError(e, "Liveness sweep failed"); }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { }
    }

    // ---- API and routing ----

    private RegistryResponse HandleRequest(BusMessage<RegistryRequest> message)
    {
        RegistryRequest r = message.Data;
        switch (r.Operation)
        {
            case "list":
                return new RegistryResponse
                {
                    Status = 200,
                    Devices = [.. Registry.All
                        .Where(d => string.IsNullOrEmpty(r.Capability) || d.CapabilityNames.Contains(r.Capability))
                        .Where(d => string.IsNullOrEmpty(r.Location) || d.Location == r.Location)
                        .Select(d => d.ToSummary(full: false))],
                };
            case "show":
                return Registry.Get(r.DeviceId) is { } device
                    ? new RegistryResponse { Status = 200, Devices = [device.ToSummary(full: true)] }
                    : new RegistryResponse { Status = 404, Error = $"no device '{r.DeviceId}' is registered" };
            case "remove":
                RegistrationOutcome outcome = Registry.Unregister(r.DeviceId, AsRequester(message.Source), $"removed by '{message.Source}'");
                if (outcome.Accepted) return new RegistryResponse { Status = 200, Devices = [outcome.Device!.ToSummary(full: false)] };
                return new RegistryResponse { Status = Registry.Get(r.DeviceId) is null ? 404 : 403, Error = outcome.Error!.Value.Reason };
            case "lookup":
                if (string.IsNullOrEmpty(r.Capability)) return new RegistryResponse { Status = 400, Error = "lookup needs a capability" };
                return new RegistryResponse { Status = 200, Devices = [.. Router.Live(r.Capability, r.Location).Select(d => d.ToSummary(full: false))] };
            default:
                return new RegistryResponse { Status = 400, Error = $"unknown operation '{r.Operation}' (known: list, show, remove, lookup)" };
        }
    }

    /// <summary>Routes a capability-addressed command to the live device(s) and sends each a signed <see cref="DeviceCommand"/>.</summary>
    public async ValueTask<RoutingResult> RouteAsync(CapabilityCommand command, string requester, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(command.Capability)) return new RoutingResult { Status = 400, Reason = "capability is required" };
        RouteDecision decision = Router.Resolve(command.Capability, command.Location, command.Fallback, command.All);
        if (!decision.Routed)
            return new RoutingResult { Status = decision.Status, Location = decision.Location, FallbackUsed = decision.FallbackUsed, Reason = decision.Reason };
        foreach (DeviceRecord device in decision.Devices)
        {
            var deviceCommand = new DeviceCommand { Command = command.Command, Capability = command.Capability, Parameters = command.Parameters };
            await Bus.PublishAsync(deviceCommand, new PublishOptions
            {
                Topic = DeviceCommand.BuildTopic(device.DeviceId),
                Destination = device.IsPlain ? EnvelopeHeader.Broadcast : device.Owner,
                Json = device.IsPlain,
                Metadata = new Dictionary<string, string> { ["requested_by"] = requester },
            }, cancellationToken).ConfigureAwait(false);
        }
        return new RoutingResult
        {
            Status = 200,
            DeviceIds = [.. decision.Devices.Select(d => d.DeviceId)],
            Location = decision.Location,
            FallbackUsed = decision.FallbackUsed,
            Reason = decision.Reason,
        };
    }

    /// <summary>
    /// A request to one live instance of a service capability (round-robin, <c>max_connections</c> honoured).
    /// If it times out, that instance is marked suspect (skipped until its next heartbeat) and the request
    /// is retried once on another instance.
    /// </summary>
    public async Task<BusMessage<TResponse>> RequestServiceAsync<TRequest, TResponse>(string capability, TRequest request, string location = "",
        TimeSpan? timeout = null, CancellationToken cancellationToken = default)
        where TRequest : IAliciaMessage<TRequest>
        where TResponse : IAliciaMessage<TResponse>
    {
        string? failed = null;
        for (int attempt = 0; ; attempt++)
        {
            RouteDecision decision = Router.Resolve(capability, location, RouteFallback.AnyLocation, lease: true, exclude: failed);
            if (!decision.Routed) throw new RoutingException(decision);
            DeviceRecord instance = decision.Devices[0];
            try
            {
                return await Bus.RequestAsync<TRequest, TResponse>(request, instance.Owner, timeout: timeout, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException) when (attempt == 0)
            {
                _logger.LogWarning("Service instance '{Instance}' did not answer a {Capability} request; marked suspect, retrying once elsewhere", Untrusted.Escape(instance.DeviceId), Untrusted.Escape(capability));
                Registry.MarkSuspect(instance.DeviceId);
                failed = instance.DeviceId;
            }
            finally
            {
                CapabilityRouter.Release(decision);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        if (_engine is not null) Bus.Reconnected -= OnBusReconnected;
        for (int i = _subscriptions.Count - 1; i >= 0; i--) await _subscriptions[i].DisposeAsync().ConfigureAwait(false);
        if (_link is not null) await _link.DisposeAsync().ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        _inbox.Writer.TryComplete();
        _changes.Writer.TryComplete();
        try { await Task.WhenAll(_loops).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        Registry?.Dispose();
        _store?.Dispose();
        _stopping.Dispose();
    }
}

/// <summary>No instance could take a capability-routed request (<see cref="RegistryService.RequestServiceAsync"/>).</summary>
public sealed class RoutingException : Exception
{
    internal RoutingException(RouteDecision decision) : base($"{decision.Status}: {decision.Reason}") => Decision = decision;

    internal RouteDecision Decision { get; }

    /// <summary>The routing status, as in <see cref="RoutingResult.Status"/> (404: no device has the capability, 429: every instance is at its limits, 503: none is alive).</summary>
    public int Status => Decision.Status;

    /// <summary>Why no instance was chosen.</summary>
    public string Reason => Decision.Reason;
}
