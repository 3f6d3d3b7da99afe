using System.Net;
using System.Security.Cryptography;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Security.Audit;
using Microsoft.Extensions.Logging;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace Alicia.Engine.Security.Gateway;

/// <summary>
/// The embedded broker's security gateway: who may connect (client certificate, password on loopback,
/// anonymous read-only on loopback, the engine in process), what each identity may publish and
/// subscribe (<see cref="AclPolicy"/>, refused with 0x87), ingress verification of every signed message
/// before delivery (and countersigning for devices that cannot sign), per-client rate limits and
/// connection-flap bans. Every refusal is logged with identity, topic and rule, counted, and audited.
/// </summary>
internal sealed class SecurityGateway : IEngineService, IBrokerExtension
{
    private readonly GatewayOptions _options;
    private readonly IIdentityDirectory? _directory;
    private readonly AuditLog? _audit;
    private readonly RateLimit _defaultRate;
    private AliciaEngine? _engine;
    private MqttServer? _server;
    private ILogger _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    private IngressVerifier? _ingress;
    private LogThrottle _logThrottle = new(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, "gateway refusals");
    private ConnectionFlapGuard? _flaps;
    private RefusalAudit _refusals;
    private TimeProvider _clock = TimeProvider.System;
    private byte[] _inProcessSecret = [];
    private readonly VerifiedMark _mark = new();
    private EnvelopeSigner? _signer;
    private int _disposed;
    private bool _anchored;

    public SecurityGateway(GatewayOptions options, IIdentityDirectory? directory = null, AuditLog? audit = null)
    {
        _options = options;
        _directory = directory;
        _audit = audit;
        if (!RateLimit.TryParse(options.DefaultRateLimit, out _defaultRate))
            throw new ArgumentException($"Gateway:DefaultRateLimit: '{options.DefaultRateLimit}' is not a rate such as 600/minute");
        if (directory is not null) directory.Changed += OnIdentityChanged;
        _refusals = new RefusalAudit(audit, TimeProvider.System, options.AuditWindow);
        if (audit is not null) audit.MaxRecords = options.AuditMaxRecords;
    }

    public string Name => "security-gateway";

    /// <summary>The verifier of ingress traffic (after start): its string cache holds strings of verified messages only.</summary>
    internal EnvelopeVerifier? IngressVerifier => _ingress?.Verifier;

    public GatewayMetrics Metrics { get; } = new();

    /// <summary>The audit log the gateway writes (null without one): watched by the monitoring service's audit alerts.</summary>
    internal AuditLog? Audit => _audit;

    /// <summary>Rate limits per identity from its registration (capability constraint rate_limit); null: the default.</summary>
    public Func<string, RateLimit?>? RateLimitOf { get; set; }

    /// <summary>
    /// Whether <see cref="RateLimitOf"/> knows the registrations yet (the registry loads after the broker listens); a
    /// client that connected before gets its registered limit at its first publish after. Null: always known.
    /// </summary>
    public Func<bool>? RateLimitsLoaded { get; set; }

    /// <summary>The topics a device's registered capabilities name as inputs: it may subscribe to them too.</summary>
    public Func<string, IReadOnlyList<string>>? CapabilityTopicsOf { get; set; }

    public void ConfigureBroker(EmbeddedBroker broker, AliciaEngine engine)
    {
        if (!_options.Enabled) return;
        _engine = engine;
        _clock = engine.Clock;
        _logger = engine.LoggerFactory.CreateLogger<SecurityGateway>();
        _logThrottle = new LogThrottle(_logger, "gateway refusals");
        _flaps = new ConnectionFlapGuard(_options, _clock);
        _refusals = new RefusalAudit(_audit, _clock, _options.AuditWindow);
        if (_audit is not null)
        {
            ILogger auditLogger = _logger;
            _audit.Alarm = message => auditLogger.LogError("Audit log alarm: {Message}", message);
        }
        _inProcessSecret = broker.InProcessSecret;
        // Ingress verification is in place before the broker accepts anyone (the engine's identity is loaded by
        // now): a device connecting at once must not publish past it while the engine's other services start.
        // It verifies with its own replay filter (the engine's bus client has another) and countersigns with the
        // engine's identity, which every Alicia verifier trusts as an attester.
        _signer = new EnvelopeSigner(engine.Identity);
        _ingress = new IngressVerifier(new EnvelopeVerifier(engine.Trust, engine.VerifierOptions, engine.Metrics, _clock),
            _signer, _clock, engine.Options.Security.MaxClockSkew, engine.Messages);
        // The engine's subscribers on this broker trust what this gateway marks (and nothing else does).
        engine.Verifier.Mark = _mark;
        broker.DeliveryFilter = MayDeliver;
        broker.Configuring += server =>
        {
            _server = server;
            server.ValidatingConnectionAsync += OnValidatingConnection;
            server.InterceptingSubscriptionAsync += OnSubscribing;
            server.InterceptingPublishAsync += OnPublishing;
            server.ClientDisconnectedAsync += OnClientDisconnected;
        };
    }

    public Task StartAsync(AliciaEngine engine, CancellationToken cancellationToken)
    {
        // A request's MQTT 5 response topic is honoured only where its requester may read (embedded broker or
        // Mosquitto: one policy). Requesters are the signed (or countersigned) sources, which are identities.
        if (_options.Enabled && _directory is not null)
        {
            IIdentityDirectory directory = _directory;
            engine.Bus.ResponseTopicPolicy = (requester, topic) => requester == engine.Name
                || (directory.TryGet(requester, out IdentityRecord identity) && AclPolicy.MayRead(identity, topic, CapabilityTopicsOf?.Invoke(requester)));
        }
        if (!_options.Enabled || engine.Broker is null) return Task.CompletedTask;
        _anchored = _audit is not null;
        if (_audit is not null) AuditAnchor.Start(_audit, engine, _options.AuditCheckpointRecords, _options.AuditCheckpointInterval, _logger);
        return Task.CompletedTask;
    }

    private static bool IsLoopback(EndPoint? endPoint) => endPoint is IPEndPoint ip && IPAddress.IsLoopback(ip.Address);

    private Task OnValidatingConnection(ValidatingConnectionEventArgs e)
    {
        // The engine in process proves itself with the broker's secret: never refused, never banned.
        if (e.UserName == _engine!.Name && CryptographicOperations.FixedTimeEquals(e.RawPassword ?? [], _inProcessSecret))
        {
            e.SessionItems[ClientContext.SessionKey] = new ClientContext(new IdentityRecord(_engine.Name, IdentityKind.Service, "engine"), AuthenticationMethod.InProcess, null);
            _inProcess[e.ClientId] = 0;
            return Task.CompletedTask;
        }

        string address = AddressOf(e.RemoteEndPoint);
        ClientContext? context;
        if (e.ClientCertificate is { } certificate)
        {
            string reason = "no identity store is configured";
            IdentityRecord? identity = null;
            if (_directory is null || !_directory.TryAuthenticate(certificate, out identity, out reason))
                return RefuseUnauthenticated(e, address, MqttConnectReasonCode.NotAuthorized, reason, "certificate");
            context = Authenticated(identity, AuthenticationMethod.Certificate, address);
        }
        else if (!string.IsNullOrEmpty(e.UserName))
        {
            if (!IsLoopback(e.RemoteEndPoint))
                return RefuseUnauthenticated(e, address, MqttConnectReasonCode.NotAuthorized, "password logins are accepted on loopback only; use a client certificate", "password");
            string reason = "no identity store is configured";
            IdentityRecord? identity = null;
            if (_directory is null || !_directory.TryAuthenticate(e.UserName, e.RawPassword ?? [], out identity, out reason))
                return RefuseUnauthenticated(e, address, MqttConnectReasonCode.BadUserNameOrPassword, reason, "password");
            context = Authenticated(identity, AuthenticationMethod.Password, address);
        }
        else
        {
            if (!_options.AllowAnonymousReadOnly || !IsLoopback(e.RemoteEndPoint))
                return RefuseUnauthenticated(e, address, MqttConnectReasonCode.NotAuthorized, "anonymous clients are refused (present a client certificate)", "anonymous");
            if (ReservedBy(e.ClientId) is { } owner)
            {
                string why = $"client id '{e.ClientId}' is in use by {owner}; an anonymous client may not take over its session";
                // The engine's name is no secret (it signs every message on alicia/#, which anonymous clients may read), and a
                // second engine started by mistake must be told why; a device's id stays off the wire.
                return RefuseUnauthenticated(e, address, MqttConnectReasonCode.ClientIdentifierNotValid, why, "client-id",
                    wire: owner.StartsWith("the running Alicia engine", StringComparison.Ordinal) ? why : null);
            }
            if (!_flaps!.TryUnauthenticated(address, out TimeSpan banned))
                return Refuse(e, MqttConnectReasonCode.Banned, $"too many unauthenticated connects from {address}; banned for {banned.TotalSeconds:0} s", "flapping");
            // Anonymous clients may publish nothing, but every publish they send still costs a token: a flood of
            // refused publishes is throttled and ends in a disconnect and a ban like any other.
            context = new ClientContext(new IdentityRecord("anonymous", IdentityKind.Service), AuthenticationMethod.Anonymous,
                new TokenBucket(_defaultRate, _options.Burst, _clock), address);
        }

        if (context.Method is AuthenticationMethod.Certificate or AuthenticationMethod.Password)
        {
            if (!ClientIdFits(e.ClientId, context.Identity))
                return RefuseUnauthenticated(e, address, MqttConnectReasonCode.ClientIdentifierNotValid, $"identity '{context.Identity.Id}' may only connect as client id '{context.Identity.Id}' or '{context.Identity.Id}:...', not '{e.ClientId}'", "client-id");
            if (!_flaps!.TryConnect(context.Identity.Id, out TimeSpan banned))
                return Refuse(e, MqttConnectReasonCode.Banned, $"identity '{context.Identity.Id}' reconnects too often without a clean disconnect; banned for {banned.TotalSeconds:0} s", "flapping");
        }

        e.SessionItems[ClientContext.SessionKey] = context;
        if (context.Method is AuthenticationMethod.Certificate or AuthenticationMethod.Password) _live[e.ClientId] = (context, e.ClientCertificate);
        _audit?.Record(AuditKinds.ConnectAccepted, context.Identity.Id, "", "accepted", $"{context.Method.ToString().ToLowerInvariant()} from {e.RemoteEndPoint} as client id '{e.ClientId}'");
        return Task.CompletedTask;
    }

    private Task RefuseUnauthenticated(ValidatingConnectionEventArgs e, string address, MqttConnectReasonCode code, string reason, string rule, string? wire = null)
    {
        // Counted against where it comes from, never against the id it claims (which may be someone else's).
        if (!_flaps!.TryUnauthenticated(address, out TimeSpan banned))
            return Refuse(e, MqttConnectReasonCode.Banned, $"too many refused connects from {address}; banned for {banned.TotalSeconds:0} s ({reason})", "flapping");
        return Refuse(e, code, reason, rule, wire);
    }

    private static string AddressOf(EndPoint? endPoint) => endPoint is IPEndPoint ip ? ip.Address.ToString() : endPoint?.ToString() ?? "in-process";

    /// <summary>
    /// Who a client id belongs to, if anyone: the engine (its bus and raw links, by name and as connected now), a known
    /// identity (and its <c>{id}:...</c> connections), or an authenticated client connected now. An MQTT connect with a
    /// client id takes over the session of whoever is connected with it, so anonymous clients may not use these.
    /// </summary>
    private string? ReservedBy(string clientId)
    {
        string engine = _engine!.Name;
        if (_inProcess.ContainsKey(clientId)
            || (clientId.StartsWith(engine, StringComparison.Ordinal) && (clientId.Length == engine.Length || clientId[engine.Length] is '-' or ':')))
            return $"the running Alicia engine '{engine}' (another engine with the same name? give it its own name)";
        if (_live.ContainsKey(clientId)) return "an authenticated client";
        int colon = clientId.IndexOf(':', StringComparison.Ordinal);
        string id = colon < 0 ? clientId : clientId[..colon];
        return _directory is not null && _directory.TryGet(id, out _) ? $"identity '{id}'" : null;
    }

    /// <summary>
    /// Private topics (<see cref="AclPolicy.PrivateTopicPrefixes"/>) reach only their identity and the engine: an
    /// anonymous <c>alicia/#</c> reader, a monitor or another identity never gets them. Refusals are counted and audited.
    /// </summary>
    private bool MayDeliver(string receiverClientId, MQTTnet.MqttApplicationMessage message)
    {
        if (_inProcess.ContainsKey(receiverClientId)) return true;
        string? receiver = _live.TryGetValue(receiverClientId, out var live) ? live.Context.Identity.Id : null;
        if (AclPolicy.MayReceive(message.Topic, receiver)) return true;
        Metrics.Denied("acl:deliver");
        _audit?.Record(AuditKinds.AclDenied, receiver ?? receiverClientId, message.Topic, "delivery withheld", "another identity's private topic");
        return false;
    }

    private Task OnClientDisconnected(ClientDisconnectedEventArgs e)
    {
        _live.TryRemove(e.ClientId, out _);
        _inProcess.TryRemove(e.ClientId, out _);
        if (Context(e.SessionItems) is { IsEngine: false } ended) _refusals.Flush(ended.Identity.Id);
        // A clean DISCONNECT ends a session as intended: that connect was not a flap.
        if (e.DisconnectType == MqttClientDisconnectType.Clean && Context(e.SessionItems) is { Method: AuthenticationMethod.Certificate or AuthenticationMethod.Password } context)
            _flaps?.Forgive(context.Identity.Id);
        return Task.CompletedTask;
    }

    /// <summary>
    /// An identity connects as exactly its id, or as <c>{id}:{suffix}</c> for side-by-side connections (a
    /// device's subscriber beside its publisher, a service's instances); ':' never occurs in an identity name,
    /// so nobody can take another identity's client id.
    /// </summary>
    private static bool ClientIdFits(string clientId, IdentityRecord identity) =>
        string.Equals(clientId, identity.Id, StringComparison.Ordinal)
        || (clientId.Length > identity.Id.Length + 1 && clientId.StartsWith(identity.Id, StringComparison.Ordinal) && clientId[identity.Id.Length] == ':');

    private bool RateLimitsKnown() => RateLimitsLoaded?.Invoke() ?? true;

    /// <summary>An authenticated client's context, with its rate (the default standing in while the registered ones load).</summary>
    private ClientContext Authenticated(IdentityRecord identity, AuthenticationMethod method, string address) =>
        new(identity, method, Bucket(identity), address) { RateSettled = RateLimitsKnown() };

    private TokenBucket Bucket(IdentityRecord identity)
    {
        RateLimit limit = RateLimitOf?.Invoke(identity.Id) ?? (identity.Kind == IdentityKind.Service ? new RateLimit(1_000_000, TimeSpan.FromSeconds(1)) : _defaultRate);
        return new TokenBucket(limit, _options.Burst, _clock);
    }

    private Task Refuse(ValidatingConnectionEventArgs e, MqttConnectReasonCode code, string reason, string rule, string? wire = null)
    {
        e.ReasonCode = code;
        // Unauthenticated clients learn the code and no more: which identities exist, which use passwords, why a
        // certificate was refused or how long a ban lasts stay in the log and the audit.
        e.ReasonString = wire ?? code switch
        {
            MqttConnectReasonCode.BadUserNameOrPassword => "bad user name or password",
            MqttConnectReasonCode.ClientIdentifierNotValid => "client identifier not valid",
            MqttConnectReasonCode.Banned => "banned: try again later",
            _ => "not authorized",
        };
        Metrics.Denied("connect:" + rule);
        // One row per source address and rule within the audit window; the repeats are counted into one more row.
        if (_refusals.Refused(AuditKinds.ConnectRefused, e.ClientId, "connect:" + rule, "", ((int)code).ToString("x2", System.Globalization.CultureInfo.InvariantCulture), reason, group: "addr:" + AddressOf(e.RemoteEndPoint))
            && _logThrottle.Allow())
            _logger.LogWarning("Refused connection of {Client} (user {User}) from {Remote}: {Reason} (rule {Rule})", Untrusted.Escape(e.ClientId), Untrusted.Escape(e.UserName), e.RemoteEndPoint, Untrusted.Escape(reason), rule);
        return Task.CompletedTask;
    }

    private static ClientContext? Context(System.Collections.IDictionary items) => items[ClientContext.SessionKey] as ClientContext;

    private Task OnSubscribing(InterceptingSubscriptionEventArgs e)
    {
        ClientContext? context = Context(e.SessionItems);
        if (context is { IsEngine: true }) return Task.CompletedTask;
        AclDecision decision = context is null
            ? AclDecision.Deny("unauthenticated session")
            : AclPolicy.Authorize(context.Grants, AclAction.Subscribe, e.TopicFilter.Topic);
        if (!decision.Allowed && context is { Method: not AuthenticationMethod.Anonymous } && CapabilityTopicsOf?.Invoke(context.Identity.Id) is { Count: > 0 } inputs)
        {
            // Asked at subscribe time, so a registration made after connecting counts.
            AclDecision byCapability = AclPolicy.Authorize([.. inputs.Select(t => new AclGrant(AclAction.Subscribe, t, "capability"))], AclAction.Subscribe, e.TopicFilter.Topic);
            if (byCapability.Allowed) return Task.CompletedTask;
        }
        if (decision.Allowed) return Task.CompletedTask;
        e.ProcessSubscription = false;
        e.Response.ReasonCode = MqttSubscribeReasonCode.NotAuthorized;
        e.ReasonString = decision.Rule;
        Metrics.Denied("acl:subscribe");
        if (_logThrottle.Allow()) _logger.LogWarning("ACL: {Identity} may not subscribe to {Filter}: {Rule}", Untrusted.Escape(context?.Identity.Id ?? e.ClientId), Untrusted.Escape(e.TopicFilter.Topic), Untrusted.Escape(decision.Rule));
        _audit?.Record(AuditKinds.AclDenied, context?.Identity.Id ?? e.ClientId, e.TopicFilter.Topic, "subscribe denied (0x87)", decision.Rule);
        return Task.CompletedTask;
    }

    private async Task OnPublishing(InterceptingPublishEventArgs e)
    {
        // Before anything else, from every client (the engine's own too): only the gateway marks a message as verified.
        if (VerifiedMark.Strip(e.ApplicationMessage.UserProperties) > 0) Metrics.Denied("mark:stripped");
        ClientContext? context = Context(e.SessionItems);
        if (context is { IsEngine: true }) return;
        string topic = e.ApplicationMessage.Topic;
        string identity = context?.Identity.Id ?? e.ClientId;
        if (context is null) { Deny(e, MqttPubAckReasonCode.NotAuthorized, "acl", identity, topic, "unauthenticated session", AuditKinds.AclDenied); return; }

        // Connected before the registry had loaded: the default limit stood in until the registered one is known.
        if (!context.RateSettled && context.Bucket is not null && RateLimitsKnown())
        {
            context.Bucket = Bucket(context.Identity);
            context.RateSettled = true;
        }
        // Every publish costs a token before anything else is checked: refused traffic is rate-limited too.
        if (context.Bucket is { } bucket && !bucket.TryTake())
        {
            // MQTT 5 has no PUBACK code for "rate too high"; 0x97 (quota exceeded) says it per message,
            // and a client that keeps pushing is disconnected with 0x96 (message rate too high) and banned.
            Deny(e, MqttPubAckReasonCode.QuotaExceeded, "rate", identity, topic, $"message rate too high: limit {bucket.Limit}", AuditKinds.RateLimited);
            // A client that keeps pushing far past its limit (ten bursts' worth of refusals within a
            // second) is disconnected, even if a token trickles through now and then.
            if (context.CountRateRefusal(_clock.GetTimestamp(), _clock.TimestampFrequency, _options.Burst * 10))
                DisconnectAndBan(e.ClientId, context, MqttDisconnectReasonCode.MessageRateTooHigh, $"over the rate limit {bucket.Limit}", "kept publishing over its rate limit");
            return;
        }

        AclDecision acl = AclPolicy.Authorize(context.Grants, AclAction.Publish, topic);
        if (!acl.Allowed) { Deny(e, MqttPubAckReasonCode.NotAuthorized, "acl", identity, topic, acl.Rule, AuditKinds.AclDenied); CountDenied(e.ClientId, context); return; }

        if (e.ApplicationMessage.Payload.Length > _options.MaxPayloadBytes)
        {
            Deny(e, MqttPubAckReasonCode.ImplementationSpecificError, "size", identity, topic, $"payload of {e.ApplicationMessage.Payload.Length} bytes exceeds {_options.MaxPayloadBytes}", AuditKinds.AclDenied);
            return;
        }

        if (!topic.StartsWith("alicia/", StringComparison.Ordinal) || _ingress is null) return;
        bool json = string.Equals(e.ApplicationMessage.ContentType, Alicia.Contracts.EnvelopeJson.ContentType, StringComparison.OrdinalIgnoreCase);
        if (json && PlainJson.IsAllowed(topic, e.ApplicationMessage.Payload, context.Identity, out string? plainProblem))
        {
            if (plainProblem is null) return;
            Deny(e, MqttPubAckReasonCode.NotAuthorized, "plain-json", identity, topic, plainProblem, AuditKinds.AclDenied);
            CountDenied(e.ClientId, context);
            return;
        }
        System.Buffers.ReadOnlySequence<byte> payload = e.ApplicationMessage.Payload;
        using System.Diagnostics.Activity? span = Alicia.Engine.Bus.Tracing.BusTracing.StartGateway(topic, e.ApplicationMessage.UserProperties);
        IngressVerifier.Outcome outcome = payload.IsSingleSegment
            ? _ingress.Check(topic, payload.FirstSpan, json, identity)
            : _ingress.Check(topic, System.Buffers.BuffersExtensions.ToArray(payload), json, identity);
        span?.SetTag("alicia.gateway.verdict", outcome.Verdict.Accepted ? "accepted" : outcome.Verdict.Reason.ToName());
        if (!outcome.Verdict.Accepted)
        {
            MqttPubAckReasonCode code = outcome.Verdict.Reason switch
            {
                RejectReason.Malformed => MqttPubAckReasonCode.PayloadFormatInvalid,
                RejectReason.UnknownTopic => MqttPubAckReasonCode.TopicNameInvalid,
                _ => MqttPubAckReasonCode.NotAuthorized,
            };
            string kind = outcome.Verdict.Reason == RejectReason.Replayed ? AuditKinds.Replay : AuditKinds.SignatureFailed;
            Deny(e, code, "ingress:" + outcome.Verdict.Reason.ToName(), identity, topic, outcome.Verdict.Detail ?? "", kind);
            CountDenied(e.ClientId, context);
            return;
        }
        if (outcome.Replacement is { } attested)
        {
            e.ApplicationMessage.Payload = new System.Buffers.ReadOnlySequence<byte>(attested);
            e.ApplicationMessage.ContentType = AliciaBus.MessagePackContentType;
            // The sender speaks JSON: a responder answers it in JSON (the property is only a hint about the reply's format).
            (e.ApplicationMessage.UserProperties ??= []).Add(new MQTTnet.Packets.MqttUserProperty(AliciaBus.OriginalContentTypeProperty, System.Text.Encoding.UTF8.GetBytes(Alicia.Contracts.EnvelopeJson.ContentType).AsMemory()));
            payload = e.ApplicationMessage.Payload;
        }
        // Verified here once: the engine's own subscribers take the mark instead of verifying again.
        byte[] mark = payload.IsSingleSegment ? _mark.Create(topic, payload.FirstSpan) : _mark.Create(topic, System.Buffers.BuffersExtensions.ToArray(payload));
        (e.ApplicationMessage.UserProperties ??= []).Add(new MQTTnet.Packets.MqttUserProperty(VerifiedMark.PropertyName, mark.AsMemory()));
        await Task.CompletedTask.ConfigureAwait(false);
    }

    private void Deny(InterceptingPublishEventArgs e, MqttPubAckReasonCode code, string metric, string identity, string topic, string rule, string auditKind)
    {
        e.ProcessPublish = false;
        e.Response.ReasonCode = code;
        e.Response.ReasonString = rule;
        Metrics.Denied(metric);
        // One audit row (and log line) per client, reason and window; the repeats are counted into one more row.
        if (_refusals.Refused(auditKind, identity, metric, topic, $"publish refused (0x{(int)code:x2})", rule) && _logThrottle.Allow())
            _logger.LogWarning("Refused publish by {Identity} to {Topic}: {Rule} (0x{Code:x2})", Untrusted.Escape(identity), Untrusted.Escape(topic), Untrusted.Escape(rule), (int)code);
    }

    /// <summary>
    /// Counts a refused (not rate-limited) publish; a client that keeps sending refused traffic
    /// (<see cref="GatewayOptions.DeniedPublishLimit"/> within <see cref="GatewayOptions.FlapWindow"/>) is disconnected and banned.
    /// </summary>
    private void CountDenied(string clientId, ClientContext context)
    {
        if (context.CountDenied(_clock.GetTimestamp(), (long)(_options.FlapWindow.TotalSeconds * _clock.TimestampFrequency), _options.DeniedPublishLimit))
            DisconnectAndBan(clientId, context, MqttDisconnectReasonCode.NotAuthorized, "too many refused publishes", $"kept sending refused publishes ({_options.DeniedPublishLimit} within {_options.FlapWindow.TotalSeconds:0} s)");
    }

    /// <summary>
    /// Drops a client that abuses the broker and bans it for <see cref="GatewayOptions.BanDuration"/>: an authenticated
    /// identity by its id, an anonymous client by its address (never by the client id it claims).
    /// </summary>
    private void DisconnectAndBan(string clientId, ClientContext context, MqttDisconnectReasonCode code, string wire, string why)
    {
        if (context.Method == AuthenticationMethod.Anonymous) _flaps?.Ban("addr:" + context.Address);
        else _flaps?.Ban("id:" + context.Identity.Id);
        _refusals.Flush(context.Identity.Id);
        _audit?.Record(AuditKinds.Disconnected, context.Identity.Id, "", $"disconnected (0x{(int)code:x2}) and banned for {_options.BanDuration.TotalSeconds:0} s",
            $"{why}; client id '{clientId}' from {context.Address}");
        if (_logThrottle.Allow())
            _logger.LogWarning("Disconnected and banned {Identity} (client id {Client} from {Address}) for {Seconds:0} s: {Reason}",
                Untrusted.Escape(context.Identity.Id), Untrusted.Escape(clientId), context.Address, _options.BanDuration.TotalSeconds, why);
        if (_server is { } server)
            _ = server.DisconnectClientAsync(clientId, new MqttServerClientDisconnectOptions { ReasonCode = code, ReasonString = wire });
    }

    /// <summary>The client ids of the engine's own in-process connections (its bus, its raw links).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _inProcess = new(StringComparer.Ordinal);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (ClientContext Context, System.Security.Cryptography.X509Certificates.X509Certificate2? Certificate)> _live = new(StringComparer.Ordinal);

    /// <summary>
    /// An identity was revoked, renewed, or its overlap or certificate ran out: every live connection of
    /// it is checked again as if it were connecting now, and dropped when it would be refused.
    /// </summary>
    private void OnIdentityChanged(string id)
    {
        if (_server is null || _directory is null) return;
        foreach ((string clientId, (ClientContext context, var certificate)) in _live)
        {
            if (context.Identity.Id != id) continue;
            string? reason = null;
            if (!_directory.TryGet(id, out _)) reason = "identity revoked";
            else if (certificate is not null && !_directory.TryAuthenticate(certificate, out _, out string refused)) reason = refused;
            if (reason is null) continue;
            _live.TryRemove(clientId, out _);
            _audit?.Record(AuditKinds.Disconnected, id, "", "disconnected", reason);
            _logger.LogWarning("Dropping the connection of {Identity}: {Reason}", Untrusted.Escape(id), Untrusted.Escape(reason));
            _ = _server.DisconnectClientAsync(clientId, new MqttServerClientDisconnectOptions { ReasonCode = MqttDisconnectReasonCode.AdministrativeAction, ReasonString = reason });
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Stopped by the engine, then disposed by the container that created it.
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_directory is not null) _directory.Changed -= OnIdentityChanged;
        _refusals.FlushAll();
        if (_audit is not null && _anchored) await AuditAnchor.StopAsync(_audit, _logger).ConfigureAwait(false);
        Metrics.Dispose();
    }
}
