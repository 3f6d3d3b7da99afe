using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Security;
using Alicia.Engine.Security.Audit;
using Alicia.Engine.Security.Gateway;
using MQTTnet;
using MQTTnet.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace Alicia.Integration.Tests;

/// <summary>
/// The security gateway on a running engine: who may connect, publish and subscribe, ingress
/// verification, rate limits, flap bans, and the audit trail of every refusal. Identities here are
/// password identities in memory; the provisioned store (SQLite, certificates) is exercised in
/// Alicia.Security.Tests through the same interface.
/// </summary>
public sealed class GatewayTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new("alicia-gateway");
    private readonly PasswordDirectory _directory = new();
    // The engine's clock, and so the gateway's (rate limits, flap bans, replay window and message age): it
    // moves only when a test moves it. The messages the tests sign are stamped with it too.
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private TestEngine _test = null!;
    private AliciaEngine _engine = null!;
    private AuditLog _audit = null!;
    private SecurityGateway _gateway = null!;
    private readonly List<IMqttClient> _clients = [];

    public async Task InitializeAsync()
    {
        _audit = new AuditLog(_dir.Sub("audit.db"));
        _gateway = new SecurityGateway(new GatewayOptions { DefaultRateLimit = "5/second", Burst = 5, FlapConnects = 5 }, _directory, _audit);
        _test = await TestEngine.StartAsync(services: e => e.AddService(_gateway), clock: _clock, directory: _dir);
        _engine = _test.Engine;
    }

    public async Task DisposeAsync()
    {
        foreach (IMqttClient c in _clients) await c.CloseAsync();
        await _test.DisposeAsync();
        await _audit.DisposeAsync();
        _dir.Dispose();
    }

    private async Task<IMqttClient> Connect(string clientId, string? username = null, string? password = null)
    {
        (IMqttClient client, MqttClientConnectResult result) = await TryConnect(clientId, username, password);
        Assert.True(result.ResultCode == MqttClientConnectResultCode.Success, $"{result.ResultCode}: {result.ReasonString}");
        return client;
    }

    private async Task<(IMqttClient, MqttClientConnectResult)> TryConnect(string clientId, string? username = null, string? password = null)
    {
        IMqttClient client = new MqttClientFactory().CreateMqttClient();
        _clients.Add(client);
        MqttClientOptionsBuilder options = RawMqtt.Options(_test.Endpoint, clientId);
        if (username is not null) options.WithCredentials(username, password);
        try
        {
            return (client, await client.ConnectAsync(options.Build()));
        }
        catch (MQTTnet.Adapter.MqttConnectingFailedException e)
        {
            // Refusals surface either as a result code or as this exception, depending on the path.
            return (client, new MqttClientConnectResult { ResultCode = ParseCode(e.Message), ReasonString = e.Message });
        }
    }

    private static MqttClientConnectResultCode ParseCode(string message) =>
        Enum.GetValues<MqttClientConnectResultCode>().FirstOrDefault(c => message.Contains(c.ToString(), StringComparison.Ordinal), MqttClientConnectResultCode.UnspecifiedError);

    private SigningIdentity Device(string id, IdentityKind kind, params string[] roles)
    {
        _directory.Add(new IdentityRecord(id, kind, roles), "pw-" + id);
        return _engine.Keys.Create(id);
    }

    /// <summary>An unsigned JSON envelope, as a constrained device sends it, stamped with the engine's clock.</summary>
    private byte[] UnsignedJson(string source, DeviceData data) => UnsignedJson(source, data, out _);

    private byte[] UnsignedJson(string source, DeviceData data, out Envelope<DeviceData> envelope)
    {
        var json = new System.Buffers.ArrayBufferWriter<byte>();
        envelope = new Envelope<DeviceData>(EnvelopeHeader.Create(source, "broadcast", MessageKind.Event, _clock), data);
        EnvelopeJson.Write(json, envelope, []);
        return json.WrittenSpan.ToArray();
    }

    private static MqttApplicationMessage Message(string topic, byte[] payload, bool json = false) =>
        new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType(json ? EnvelopeJson.ContentType : AliciaBus.MessagePackContentType).Build();

    private byte[] Signed<T>(SigningIdentity signer, string topic, T data, string? source = null) where T : IAliciaSerializable<T>
    {
        var envelope = new Envelope<T>(EnvelopeHeader.Create(source ?? signer.Name, "broadcast", MessageKind.Event, _clock), data);
        if (source is not null && source != signer.Name)
        {
            // A forgery: sign bytes that claim another source with our own key (the key stays the signer's).
            var claimed = new SigningIdentity(source, signer.Key);
            return Peers.Sign(claimed, topic, envelope);
        }
        return Peers.Sign(signer, topic, envelope);
    }

    private async Task<BusMessage<T>> NextOnEngineBus<T>(string filter, Func<Task> action) where T : IAliciaMessage<T>
    {
        var received = new TaskCompletionSource<BusMessage<T>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IAsyncDisposable sub = await _engine.Bus.SubscribeAsync<T>((m, _) => { received.TrySetResult(m); return ValueTask.CompletedTask; }, new SubscribeOptions { Filter = filter, ReceiveAll = true });
        await action();
        return await received.Within();
    }

    /// <summary>Publishes <paramref name="count"/> signed messages one after another; each is accepted or refused for its rate.</summary>
    private async Task<(int Accepted, int Refused)> Flood(IMqttClient client, SigningIdentity signer, string topic, int count)
    {
        int accepted = 0, refused = 0;
        for (int i = 0; i < count; i++)
        {
            MqttClientPublishResult r = await client.PublishAsync(Message(topic, Signed(signer, topic, new DeviceData())));
            if (r.ReasonCode == MqttClientPublishReasonCode.QuotaExceeded)
            {
                refused++;
                Assert.Contains("message rate too high", r.ReasonString);
            }
            else
            {
                Assert.True(r.ReasonCode is MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers, $"{r.ReasonCode}: {r.ReasonString}");
                accepted++;
            }
        }
        return (accepted, refused);
    }

    [Fact]
    public async Task Anonymous_loopback_client_may_read_but_not_publish()
    {
        IMqttClient anonymous = await Connect("watcher");
        MqttClientSubscribeResult sub = await anonymous.SubscribeAsync("alicia/#");
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS0, sub.Items.Single().ResultCode);

        MqttClientPublishResult result = await anonymous.PublishAsync(Message("alicia/devices/x/data", [1, 2, 3]));

        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, result.ReasonCode);
        await _audit.FlushAsync();
        Assert.True(_gateway.Metrics.Count("acl") == 1, string.Join("; ", AuditLog.Tail(_audit.Path, 10).Select(r => $"{r.Kind} {r.Identity} {r.Topic} {r.Detail}")));
    }

    [Fact]
    public async Task Anonymous_clients_can_be_refused_entirely()
    {
        var options = new GatewayOptions { AllowAnonymousReadOnly = false };
        await using TestEngine strict = await TestEngine.StartAsync(services: e => e.AddService(new SecurityGateway(options, _directory)));
        IMqttClient client = new MqttClientFactory().CreateMqttClient();
        _clients.Add(client);
        MqttClientConnectResult result;
        try { result = await client.ConnectAsync(RawMqtt.Options(strict.Endpoint, "nobody").Build()); }
        catch (MQTTnet.Adapter.MqttConnectingFailedException e) { result = new MqttClientConnectResult { ResultCode = ParseCode(e.Message) }; }
        Assert.Equal(MqttClientConnectResultCode.NotAuthorized, result.ResultCode);
    }

    [Fact]
    public async Task A_device_publishes_in_its_own_subtree_only()
    {
        using SigningIdentity lamp = Device("lamp-1", IdentityKind.Actuator);
        IMqttClient client = await Connect("lamp-1", "lamp-1", "pw-lamp-1");
        string own = DeviceData.BuildTopic("lamp-1");
        string other = DeviceData.BuildTopic("lamp-2");

        BusMessage<DeviceData> delivered = await NextOnEngineBus<DeviceData>(own, async () =>
        {
            MqttClientPublishResult ok = await client.PublishAsync(Message(own, Signed(lamp, own, new DeviceData { Values = { ["on"] = 1 } })));
            Assert.True(ok.IsSuccess, ok.ReasonString);
        });
        Assert.Equal("lamp-1", delivered.Source);

        MqttClientPublishResult denied = await client.PublishAsync(Message(other, Signed(lamp, other, new DeviceData())));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, denied.ReasonCode);
        Assert.Contains("no publish grant covers", denied.ReasonString);

        MqttClientSubscribeResult sub = await client.SubscribeAsync(DeviceCommand.BuildTopic("lamp-2"));
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, sub.Items.Single().ResultCode);
        MqttClientSubscribeResult ownCommands = await client.SubscribeAsync(DeviceCommand.BuildTopic("lamp-1"), MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, ownCommands.Items.Single().ResultCode);
    }

    [Theory]
    [InlineData("alicia/devices/lamp-3/../lamp-4/data")]
    [InlineData("alicia/devices/lamp-3/a/b/c/d/e/f/g/h/i/j/k")]
    public async Task Topic_injection_and_depth_are_refused(string topic)
    {
        using SigningIdentity lamp = Device("lamp-3", IdentityKind.Actuator);
        IMqttClient client = await Connect("lamp-3", "lamp-3", "pw-lamp-3");
        MqttClientPublishResult result = await client.PublishAsync(Message(topic, [0x80]));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, result.ReasonCode);
    }

    [Fact]
    public async Task Ingress_refuses_a_message_claiming_another_source_before_anyone_sees_it()
    {
        using SigningIdentity lamp = Device("lamp-5", IdentityKind.Actuator);
        using SigningIdentity victim = Device("lamp-6", IdentityKind.Actuator);
        IMqttClient client = await Connect("lamp-5", "lamp-5", "pw-lamp-5");
        string topic = DeviceData.BuildTopic("lamp-5");
        // What the engine's subscribers get on the device's topic (in the order the device sent it).
        var seen = new List<BusMessage<DeviceData>>();
        var marker = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IAsyncDisposable sub = await _engine.Bus.SubscribeAsync<DeviceData>((m, _) =>
        {
            lock (seen) seen.Add(m);
            if (m.Data.Values.ContainsKey("marker")) marker.TrySetResult();
            return ValueTask.CompletedTask;
        }, new SubscribeOptions { Filter = topic, ReceiveAll = true });

        MqttClientPublishResult forged = await client.PublishAsync(Message(topic, Signed(lamp, topic, new DeviceData(), source: "lamp-6")));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, forged.ReasonCode);

        MqttClientPublishResult tampered = await client.PublishAsync(Message(topic, Signed(lamp, DeviceData.BuildTopic("elsewhere"), new DeviceData())));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, tampered.ReasonCode);

        MqttClientPublishResult garbage = await client.PublishAsync(Message(topic, "not an envelope"u8.ToArray()));
        Assert.Equal(MqttClientPublishReasonCode.PayloadFormatInvalid, garbage.ReasonCode);

        // The device's next honest message arrives alone: nothing refused before it reached the engine's subscribers.
        MqttClientPublishResult honest = await client.PublishAsync(Message(topic, Signed(lamp, topic, new DeviceData { Values = { ["marker"] = 1 } })));
        Assert.True(honest.IsSuccess, honest.ReasonString);
        await marker.Within();
        lock (seen) Assert.Equal(new[] { 1.0 }, seen.Select(m => m.Data.Values.GetValueOrDefault("marker")));
        // Both forgeries were counted once, at the door (the ingress verifier counts into the engine's metrics).
        Assert.Equal(2, _engine.Metrics.RejectedCount(RejectReason.BadSignature));
        Assert.Equal(2, _gateway.Metrics.Count("ingress:bad_signature"));
    }

    [Fact]
    public async Task Replays_and_oversize_payloads_are_refused_at_ingress_and_audited()
    {
        using SigningIdentity lamp = Device("lamp-8", IdentityKind.Actuator);
        IMqttClient client = await Connect("lamp-8", "lamp-8", "pw-lamp-8");
        string topic = DeviceData.BuildTopic("lamp-8");
        byte[] once = Signed(lamp, topic, new DeviceData { Values = { ["on"] = 1 } });

        Assert.True((await client.PublishAsync(Message(topic, once))).IsSuccess);
        MqttClientPublishResult replay = await client.PublishAsync(Message(topic, once));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, replay.ReasonCode);
        Assert.Contains("already received", replay.ReasonString);

        MqttClientPublishResult oversize = await client.PublishAsync(Message(topic, new byte[256 * 1024 + 1]));
        Assert.Equal(MqttClientPublishReasonCode.ImplementationSpecificError, oversize.ReasonCode);
        Assert.Contains("exceeds", oversize.ReasonString);

        // The device goes on being served.
        Assert.True((await client.PublishAsync(Message(topic, Signed(lamp, topic, new DeviceData { Values = { ["on"] = 0 } })))).IsSuccess);
        await _audit.FlushAsync();
        IReadOnlyList<AuditRecord> records = AuditLog.Tail(_audit.Path, 50);
        Assert.Contains(records, r => r.Kind == AuditKinds.Replay && r.Identity == "lamp-8");
        Assert.Contains(records, r => r.Identity == "lamp-8" && r.Detail.Contains("exceeds"));
    }

    [Fact]
    public async Task A_device_may_subscribe_to_the_inputs_its_capabilities_name_and_is_limited_by_its_declared_rate()
    {
        // What the registry knows of the device (its registration) feeds the gateway.
        _gateway.CapabilityTopicsOf = id => id == "speaker-5" ? ["alicia/voice/tts/response"] : [];
        _gateway.RateLimitOf = id => id == "speaker-5" ? new Alicia.Engine.Security.Gateway.RateLimit(2, TimeSpan.FromMinutes(1)) : null;
        using SigningIdentity speaker = Device("speaker-5", IdentityKind.Speaker);
        IMqttClient client = await Connect("speaker-5", "speaker-5", "pw-speaker-5");

        MqttClientSubscribeResult input = await client.SubscribeAsync("alicia/voice/tts/response", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, input.Items.Single().ResultCode);
        MqttClientSubscribeResult other = await client.SubscribeAsync("alicia/voice/stt/response");
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, other.Items.Single().ResultCode);

        // Declared "2/minute" with a burst of 5: the sixth message within the minute is refused.
        string topic = DeviceData.BuildTopic("speaker-5");
        var codes = new List<MqttClientPublishReasonCode>();
        for (int i = 0; i < 6; i++) codes.Add((await client.PublishAsync(Message(topic, Signed(speaker, topic, new DeviceData())))).ReasonCode);
        Assert.Equal(5, codes.Count(c => c is MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers));
        Assert.Equal(MqttClientPublishReasonCode.QuotaExceeded, codes[^1]);
    }

    [Fact]
    public async Task A_device_connected_before_the_registry_loaded_gets_its_registered_rate_once_it_has()
    {
        // The registry loads after the broker listens: a device connecting in between is known only by the default
        // (here 5/second, burst 5), and its registration allows far more.
        bool loaded = false;
        _gateway.RateLimitsLoaded = () => Volatile.Read(ref loaded);
        _gateway.RateLimitOf = id => Volatile.Read(ref loaded) && id == "meter-6" ? new Alicia.Engine.Security.Gateway.RateLimit(10_000, TimeSpan.FromSeconds(1)) : null;
        using SigningIdentity meter = Device("meter-6", IdentityKind.Sensor);
        IMqttClient client = await Connect("meter-6", "meter-6", "pw-meter-6");

        Volatile.Write(ref loaded, true);
        string topic = DeviceData.BuildTopic("meter-6");
        var codes = new List<MqttClientPublishReasonCode>();
        for (int i = 0; i < 12; i++)
        {
            // 10 ms apart on the gateway's clock: the default's burst runs out at the sixth, the registered rate never does.
            _clock.Advance(TimeSpan.FromMilliseconds(10));
            codes.Add((await client.PublishAsync(Message(topic, Signed(meter, topic, new DeviceData())))).ReasonCode);
        }
        Assert.All(codes, c => Assert.Contains(c, new[] { MqttClientPublishReasonCode.Success, MqttClientPublishReasonCode.NoMatchingSubscribers }));
    }

    [Fact]
    public async Task Unsigned_json_from_a_constrained_device_is_countersigned_by_the_gateway()
    {
        Device("esp32-7", IdentityKind.Sensor).Dispose();
        IMqttClient client = await Connect("esp32-7", "esp32-7", "pw-esp32-7");
        string topic = DeviceData.BuildTopic("esp32-7");
        byte[] json = UnsignedJson("esp32-7", new DeviceData { Values = { ["temperature"] = 19.5 } });

        BusMessage<DeviceData> received = await NextOnEngineBus<DeviceData>(topic, async () =>
        {
            MqttClientPublishResult result = await client.PublishAsync(Message(topic, json, json: true));
            Assert.True(result.IsSuccess, result.ReasonString);
        });

        Assert.Equal(19.5, received.Data.Values["temperature"]);
        Assert.Equal("esp32-7", received.Source);
        Assert.Equal(Attestation.GatewayAttested, received.Envelope.Attestation);
        Assert.Equal(_engine.Name, received.Envelope.AttestedBy);

        // The same unsigned JSON claiming another device is refused.
        MqttClientPublishResult refused = await client.PublishAsync(Message(topic, UnsignedJson("esp32-8", new DeviceData()), json: true));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, refused.ReasonCode);
    }

    [Fact]
    public async Task Unsigned_json_replayed_with_the_same_message_id_is_delivered_and_countersigned_once()
    {
        // Issue 10 A7: the same message_id three times was delivered three times, countersigned.
        Device("esp32-9", IdentityKind.Sensor).Dispose();
        IMqttClient client = await Connect("esp32-9", "esp32-9", "pw-esp32-9");
        string topic = DeviceData.BuildTopic("esp32-9");
        byte[] once = UnsignedJson("esp32-9", new DeviceData { Values = { ["n"] = 1 } }, out Envelope<DeviceData> envelope);

        var seen = new List<BusMessage<DeviceData>>();
        var marker = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IAsyncDisposable sub = await _engine.Bus.SubscribeAsync<DeviceData>((m, _) =>
        {
            lock (seen) seen.Add(m);
            if (m.Data.Values.ContainsKey("marker")) marker.TrySetResult();
            return ValueTask.CompletedTask;
        }, new SubscribeOptions { Filter = topic, ReceiveAll = true });

        Assert.True((await client.PublishAsync(Message(topic, once, json: true))).IsSuccess);
        for (int i = 0; i < 2; i++)
        {
            MqttClientPublishResult replay = await client.PublishAsync(Message(topic, once, json: true));
            Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, replay.ReasonCode);
            Assert.Contains("already received", replay.ReasonString);
        }
        Assert.True((await client.PublishAsync(Message(topic, UnsignedJson("esp32-9", new DeviceData { Values = { ["marker"] = 1 } }, out Envelope<DeviceData> next), json: true))).IsSuccess);
        await marker.Within();
        lock (seen) Assert.Equal(new[] { envelope.MessageId, next.MessageId }, seen.Select(m => m.Envelope.MessageId));
        await _audit.FlushAsync();
        Assert.Contains(AuditLog.Tail(_audit.Path, 20), r => r.Kind == AuditKinds.Replay && r.Identity == "esp32-9");
    }

    [Fact]
    public async Task A_flooding_device_is_throttled_with_quota_exceeded_and_others_are_served()
    {
        using SigningIdentity flooder = Device("flood-1", IdentityKind.Sensor);
        using SigningIdentity calm = Device("calm-1", IdentityKind.Sensor);
        IMqttClient noisy = await Connect("flood-1", "flood-1", "pw-flood-1");
        IMqttClient quiet = await Connect("calm-1", "calm-1", "pw-calm-1");
        string topic = DeviceData.BuildTopic("flood-1");

        // Burst 5, refilled at 5/second on the engine's clock. While it stands still, exactly the burst passes.
        (int accepted, int refused) = await Flood(noisy, flooder, topic, 30);
        Assert.Equal((5, 25), (accepted, refused));

        // A second refills the 5/second (never beyond the burst); a fifth of a second refills one message.
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal((5, 1), await Flood(noisy, flooder, topic, 6));
        _clock.Advance(TimeSpan.FromMilliseconds(200));
        Assert.Equal((1, 1), await Flood(noisy, flooder, topic, 2));

        Assert.Equal(25 + 1 + 1, _gateway.Metrics.Count("rate"));
        string calmTopic = DeviceData.BuildTopic("calm-1");
        MqttClientPublishResult served = await quiet.PublishAsync(Message(calmTopic, Signed(calm, calmTopic, new DeviceData())));
        Assert.True(served.IsSuccess, served.ReasonString);
    }

    [Fact]
    public async Task A_device_that_keeps_pushing_far_over_its_limit_is_disconnected_with_0x96()
    {
        using SigningIdentity flooder = Device("flood-2", IdentityKind.Sensor);
        IMqttClient noisy = await Connect("flood-2", "flood-2", "pw-flood-2");
        var dropped = new TaskCompletionSource<MqttClientDisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        noisy.DisconnectedAsync += e => { dropped.TrySetResult(e); return Task.CompletedTask; };
        string topic = DeviceData.BuildTopic("flood-2");
        byte[] payload = Signed(flooder, topic, new DeviceData());

        // Burst 5: ten bursts of refusals (50) within a second disconnect it. QoS 0, so nothing waits on acks.
        for (int i = 0; i < 200 && noisy.IsConnected; i++)
        {
            try { await noisy.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).Build()); }
            catch (MQTTnet.Exceptions.MqttCommunicationException) { break; } // the broker closed the connection mid-loop
        }

        MqttClientDisconnectedEventArgs e = await dropped.Within();
        Assert.Equal(MqttClientDisconnectReason.MessageRateTooHigh, e.Reason);
    }

    private async Task<long> AuditRows()
    {
        await _audit.FlushAsync();
        Assert.Null(AuditLog.Verify(_audit.Path, out long records));
        return records;
    }

    /// <summary>Sends up to <paramref name="max"/> QoS 0 publishes as fast as it can; stops when the broker drops the client.</summary>
    private static async Task<int> FloodUntilDropped(IMqttClient client, string topic, byte[] payload, int max, Action? each = null)
    {
        int sent = 0;
        for (; sent < max && client.IsConnected; sent++)
        {
            each?.Invoke();
            try { await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).Build()); }
            catch (MQTTnet.Exceptions.MqttCommunicationException) { break; }
        }
        return sent;
    }

    [Fact]
    public async Task An_anonymous_flood_of_denied_publishes_is_throttled_disconnected_banned_and_audited_in_a_few_rows()
    {
        // Issue 10 A4: 1.82 M denied publishes in 15 s, one audit row each, never limited.
        using SigningIdentity lamp = Device("lamp-20", IdentityKind.Actuator);
        IMqttClient device = await Connect("lamp-20", "lamp-20", "pw-lamp-20");
        long before = await AuditRows();

        IMqttClient flooder = await Connect("flooder");
        var dropped = new TaskCompletionSource<MqttClientDisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        flooder.DisconnectedAsync += e => { dropped.TrySetResult(e); return Task.CompletedTask; };
        int sent = await FloodUntilDropped(flooder, "alicia/devices/lamp-20/command", [1, 2, 3], 5000);
        MqttClientDisconnectedEventArgs e = await dropped.Within();
        Assert.Equal(MqttClientDisconnectReason.MessageRateTooHigh, e.Reason);
        Assert.True(sent < 5000, $"the flooder sent all {sent} publishes without being dropped");

        // Banned: its address may not come back anonymously for a while.
        (_, MqttClientConnectResult again) = await TryConnect("flooder");
        Assert.Equal(MqttClientConnectResultCode.Banned, again.ResultCode);

        // The device beside it is served throughout.
        string own = DeviceData.BuildTopic("lamp-20");
        MqttClientPublishResult served = await device.PublishAsync(Message(own, Signed(lamp, own, new DeviceData())));
        Assert.True(served.IsSuccess, served.ReasonString);

        // A handful of rows, not one per refused publish: ACL denial, rate refusal, their counts, the ban, the refused reconnect.
        long rows = await AuditRows() - before;
        Assert.True(rows <= 12, $"{rows} audit rows for {sent} refused publishes: " + string.Join(" | ", AuditLog.Tail(_audit.Path, 30).Select(r => $"{r.Kind} {r.Identity} {r.Decision} {r.Detail}")));
        IReadOnlyList<AuditRecord> tail = AuditLog.Tail(_audit.Path, 30);
        Assert.Contains(tail, r => r.Kind == AuditKinds.RateLimited && r.Decision.Contains(" x", StringComparison.Ordinal));
        Assert.Contains(tail, r => r.Kind == AuditKinds.Disconnected && r.Decision.Contains("banned", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_sensor_that_keeps_publishing_to_another_devices_topic_within_its_rate_is_disconnected_and_banned()
    {
        // Issue 10 A4: 344 k denied publishes to another device's command topic in 5 s, never limited.
        // Here the sensor stays within a generous rate (the clock moves 1 ms per publish), so only its refusals count.
        _gateway.RateLimitOf = id => id == "sensor-20" ? new Alicia.Engine.Security.Gateway.RateLimit(10_000, TimeSpan.FromSeconds(1)) : null;
        using SigningIdentity sensor = Device("sensor-20", IdentityKind.Sensor);
        Device("lamp-21", IdentityKind.Actuator).Dispose();
        IMqttClient other = await Connect("lamp-21", "lamp-21", "pw-lamp-21");
        long before = await AuditRows();
        IMqttClient client = await Connect("sensor-20", "sensor-20", "pw-sensor-20");
        var dropped = new TaskCompletionSource<MqttClientDisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.DisconnectedAsync += e => { dropped.TrySetResult(e); return Task.CompletedTask; };

        string victim = DeviceCommand.BuildTopic("lamp-21");
        int sent = 0;
        for (; sent < 1000 && client.IsConnected; sent++)
        {
            _clock.Advance(TimeSpan.FromMilliseconds(1));
            try
            {
                MqttClientPublishResult r = await client.PublishAsync(Message(victim, [1]));
                Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, r.ReasonCode);
            }
            catch (MQTTnet.Exceptions.MqttCommunicationException) { break; }
            catch (OperationCanceledException) { break; }
        }
        MqttClientDisconnectedEventArgs e = await dropped.Within();
        Assert.Equal(MqttClientDisconnectReason.NotAuthorized, e.Reason);
        Assert.True(sent <= 110, $"{sent} refused publishes before the disconnect");
        (_, MqttClientConnectResult again) = await TryConnect("sensor-20", "sensor-20", "pw-sensor-20");
        Assert.Equal(MqttClientConnectResultCode.Banned, again.ResultCode);

        Assert.True(other.IsConnected);
        MqttClientSubscribeResult sub = await other.SubscribeAsync(DeviceCommand.BuildTopic("lamp-21"), MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, sub.Items.Single().ResultCode);
        long rows = await AuditRows() - before;
        Assert.True(rows <= 8, $"{rows} audit rows for {sent} refused publishes");
    }

    [Fact]
    public async Task The_audit_log_is_bounded_ends_with_one_suppressed_record_and_raises_an_alarm_and_its_chain_still_verifies()
    {
        var alarms = new List<string>();
        await using var log = new AuditLog(_dir.Sub("bounded.db")) { MaxRecords = 20, Alarm = m => { lock (alarms) alarms.Add(m); } };
        for (int i = 0; i < 500; i++) log.Record(AuditKinds.AclDenied, "anonymous", "t/" + i, "refused", "flood");
        await log.FlushAsync();
        Assert.Null(AuditLog.Verify(log.Path, out long records));
        Assert.Equal(20, records);
        AuditRecord last = AuditLog.Tail(log.Path, 1).Single();
        Assert.Equal(AuditKinds.Suppressed, last.Kind);
        Assert.Equal(481, log.Suppressed);
        lock (alarms)
        {
            Assert.Contains(alarms, a => a.Contains("of its limit 20", StringComparison.Ordinal));
            Assert.Contains(alarms, a => a.Contains("is full", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Connack_reason_strings_tell_an_unauthenticated_client_nothing_the_audit_keeps_the_detail()
    {
        // Issue 10 A7: the reason strings told who exists, who uses a password, why a certificate was revoked.
        Device("sensor-30", IdentityKind.Sensor).Dispose();
        var wire = new List<string>();
        // What goes into the CONNACK: read after the gateway decided (handlers run in the order they were added).
        _engine.Broker!.Server.ValidatingConnectionAsync += e =>
        {
            if (e.ReasonCode != MqttConnectReasonCode.Success) lock (wire) wire.Add(e.ReasonString ?? "");
            return Task.CompletedTask;
        };
        foreach ((string clientId, string user, string password) in new[] { ("sensor-30", "sensor-30", "wrong"), ("ghost-1", "ghost-1", "x"), ("sensor-30:a", "sensor-30", "pw-sensor-30"), ("lamp-99", "sensor-30", "pw-sensor-30") })
        {
            IMqttClient client = new MqttClientFactory().CreateMqttClient();
            _clients.Add(client);
            try
            {
                MqttClientConnectResult r = await client.ConnectAsync(RawMqtt.Options(_test.Endpoint, clientId).WithCredentials(user, password).Build());
                if (r.ResultCode == MqttClientConnectResultCode.Success) await client.DisconnectAsync();
            }
            catch (MQTTnet.Adapter.MqttConnectingFailedException e) { Assert.DoesNotContain("password", e.Message.Replace("bad user name or password", "", StringComparison.OrdinalIgnoreCase).Replace("BadUserNameOrPassword", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase); }
        }
        lock (wire) Assert.Equal(["bad user name or password", "bad user name or password", "client identifier not valid"], wire);
        await _audit.FlushAsync();
        IReadOnlyList<AuditRecord> records = AuditLog.Tail(_audit.Path, 50);
        Assert.Contains(records, r => r.Kind == AuditKinds.ConnectRefused && r.Detail.Contains("wrong password"));
        // The second bad password from the same address falls in the first one's audit window: counted, written with the count later.
        Assert.Contains(records, r => r.Kind == AuditKinds.ConnectRefused && r.Detail.Contains("may only connect as client id 'sensor-30'"));
    }

    [Fact]
    public async Task The_audit_database_and_its_wal_files_are_readable_by_the_owner_only()
    {
        // Issue 10 A7: audit.db was 0644.
        Assert.True((await _engine.Bus.RequestAsync<ApiRequest, ApiResponse>(new ApiRequest { Operation = "ping" }, _engine.Name, timeout: Waits.Long)).Data.Status == 200);
        await _audit.FlushAsync();
        if (OperatingSystem.IsWindows()) return;
        string[] files = [.. new[] { _audit.Path, _audit.Path + "-wal", _audit.Path + "-shm" }.Where(File.Exists)];
        Assert.Contains(_audit.Path + "-wal", files);
        foreach (string file in files)
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
    }

    [Fact]
    public async Task Wrong_password_and_spoofed_client_id_are_refused_and_clean_one_shot_connects_are_never_flapping_while_unclean_ones_are()
    {
        Device("speaker-9", IdentityKind.Speaker).Dispose();
        (_, MqttClientConnectResult wrong) = await TryConnect("speaker-9", "speaker-9", "wrong");
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, wrong.ResultCode);
        (_, MqttClientConnectResult spoof) = await TryConnect("lamp-1", "speaker-9", "pw-speaker-9");
        Assert.Equal(MqttClientConnectResultCode.ClientIdentifierNotValid, spoof.ResultCode);

        // A one-shot publisher (connect, publish, DISCONNECT), more often than the 5 a minute allowed here.
        for (int i = 0; i < 8; i++)
        {
            Task gone = ServerSawDisconnect("speaker-9");
            IMqttClient c = await Connect("speaker-9", "speaker-9", "pw-speaker-9");
            await c.DisconnectAsync();
            await gone;
        }

        // A crash loop: connections that end without DISCONNECT.
        for (int i = 0; i < 5; i++)
        {
            Task gone = ServerSawDisconnect("speaker-9");
            IMqttClient c = await Connect("speaker-9", "speaker-9", "pw-speaker-9");
            _clients.Remove(c);
            c.Dispose();
            await gone;
        }
        (_, MqttClientConnectResult banned) = await TryConnect("speaker-9", "speaker-9", "pw-speaker-9");
        Assert.Equal(MqttClientConnectResultCode.Banned, banned.ResultCode);

        await _audit.FlushAsync();
        IReadOnlyList<AuditRecord> records = AuditLog.Tail(_audit.Path, 100);
        Assert.Contains(records, r => r.Kind == AuditKinds.ConnectRefused && r.Detail.Contains("wrong password"));
        Assert.Contains(records, r => r.Kind == AuditKinds.ConnectRefused && r.Detail.Contains("may only connect as client id 'speaker-9'"));
        Assert.Contains(records, r => r.Kind == AuditKinds.ConnectRefused && r.Detail.Contains("reconnects too often"));
        Assert.Null(AuditLog.Verify(_audit.Path, out long count));
        Assert.True(count >= 5);
    }

    /// <summary>Completes when the broker has processed the end of <paramref name="clientId"/>'s session.</summary>
    private Task ServerSawDisconnect(string clientId)
    {
        var gone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        MQTTnet.Server.MqttServer server = _engine.Broker!.Server;
        Task Handler(MQTTnet.Server.ClientDisconnectedEventArgs e)
        {
            if (e.ClientId != clientId) return Task.CompletedTask;
            server.ClientDisconnectedAsync -= Handler;
            gone.TrySetResult();
            return Task.CompletedTask;
        }
        server.ClientDisconnectedAsync += Handler;
        return gone.Within();
    }

    [Fact]
    public async Task Anonymous_clients_can_neither_take_over_nor_get_banned_the_engine_or_an_identity()
    {
        Device("victim-1", IdentityKind.Sensor).Dispose();
        IMqttClient victim = await Connect("victim-1", "victim-1", "pw-victim-1");
        var kicked = new TaskCompletionSource<MqttClientDisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        victim.DisconnectedAsync += e => { kicked.TrySetResult(e); return Task.CompletedTask; };

        // mosquitto_sub, as anyone on the machine could run it, claiming the device's and the engine's client ids.
        foreach (string claimed in new[] { "victim-1", "victim-1:sub", "alicia-engine", "alicia-engine-registry-1234" })
        {
            (int exit, string output) = await MosquittoSub(claimed);
            Assert.True(exit != 0, $"mosquitto_sub -i {claimed} was let in: {output}");
            Assert.Contains("identifier not valid", output, StringComparison.OrdinalIgnoreCase);
        }
        // ... and hammering with a wrong password under the device's id: counted against the address, not the id.
        for (int i = 0; i < 6; i++) await TryConnect("victim-1:x", "victim-1", "wrong");
        (_, MqttClientConnectResult anonymousNow) = await TryConnect("watcher-7");
        Assert.Equal(MqttClientConnectResultCode.Banned, anonymousNow.ResultCode);

        // The real device kept its session and can still connect beside it; the engine kept its bus.
        Assert.True(victim.IsConnected);
        Assert.False(kicked.Task.IsCompleted);
        await Connect("victim-1:second", "victim-1", "pw-victim-1");
        Assert.True(_engine.Bus.IsConnected);
        Assert.Equal(0, _engine.Bus.Reconnects);
        BusMessage<ApiResponse> pong = await _engine.Bus.RequestAsync<ApiRequest, ApiResponse>(new ApiRequest { Operation = "ping" }, _engine.Name, timeout: Waits.Long);
        Assert.Equal(200, pong.Data.Status);
    }

    private async Task<(int Exit, string Output)> MosquittoSub(string clientId)
    {
        ProcessResult run = await ChildProcess.RunAsync("mosquitto_sub",
            ["-V", "mqttv5", "-h", "127.0.0.1", "-p", _test.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-i", clientId, "-t", "alicia/#", "-W", "5"]);
        return (run.ExitCode, run.Output);
    }

    [Theory]
    [InlineData(new byte[] { 0xff, 0xff, 0xff, 0xff, 0xff })]                   // reserved packet type, endless length
    [InlineData(new byte[] { 0x10, 0x05, 0x00, 0x04, (byte)'M', (byte)'Q', 0x54 })] // CONNECT cut short
    [InlineData(new byte[] { 0x30, 0x02, 0x00, 0x00 })]                         // PUBLISH before CONNECT
    public async Task Malformed_mqtt_packets_close_only_that_connection(byte[] garbage)
    {
        using var raw = new System.Net.Sockets.TcpClient();
        await raw.ConnectAsync(System.Net.IPAddress.Loopback, _test.Port);
        System.Net.Sockets.NetworkStream stream = raw.GetStream();
        await stream.WriteAsync(garbage);
        await stream.FlushAsync();
        raw.Client.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        byte[] buffer = new byte[64];
        // The broker answers nothing valid and closes: the read ends (0 bytes) rather than hanging.
        int read;
        do { read = await stream.ReadAsync(buffer).AsTask().WaitAsync(Waits.Long); } while (read > 0);

        // Everyone else is still served.
        IMqttClient watcher = await Connect("watcher-after-garbage");
        MqttClientSubscribeResult sub = await watcher.SubscribeAsync("alicia/#");
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS0, sub.Items.Single().ResultCode);
    }

    [Fact]
    public async Task Revoking_an_identity_drops_its_live_connection()
    {
        Device("panel-1", IdentityKind.Controller).Dispose();
        IMqttClient client = await Connect("panel-1", "panel-1", "pw-panel-1");
        var dropped = new TaskCompletionSource<MqttClientDisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.DisconnectedAsync += e => { dropped.TrySetResult(e); return Task.CompletedTask; };

        _directory.Remove("panel-1");

        MqttClientDisconnectedEventArgs e = await dropped.Within();
        Assert.Equal(MqttClientDisconnectReason.AdministrativeAction, e.Reason);
        (_, MqttClientConnectResult again) = await TryConnect("panel-1", "panel-1", "pw-panel-1");
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, again.ResultCode);
    }

    [Fact]
    public async Task Ingress_verification_is_a_span_in_the_trace_the_publisher_names_in_its_traceparent()
    {
        var spans = new System.Collections.Concurrent.ConcurrentQueue<System.Diagnostics.Activity>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = s => s.Name == Alicia.Engine.Bus.Tracing.BusTracing.SourceName,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        using SigningIdentity lamp = Device("lamp-traced", IdentityKind.Actuator);
        IMqttClient client = await Connect("lamp-traced", "lamp-traced", "pw-lamp-traced");
        string topic = DeviceData.BuildTopic("lamp-traced");
        var publisher = new System.Diagnostics.ActivityContext(System.Diagnostics.ActivityTraceId.CreateRandom(), System.Diagnostics.ActivitySpanId.CreateRandom(), System.Diagnostics.ActivityTraceFlags.Recorded);
        MqttApplicationMessage message = Message(topic, Signed(lamp, topic, new DeviceData()));
        message.UserProperties = [new MQTTnet.Packets.MqttUserProperty(Alicia.Engine.Bus.Tracing.TraceContext.TraceParent, System.Text.Encoding.UTF8.GetBytes(Alicia.Engine.Bus.Tracing.TraceContext.Format(publisher)).AsMemory())];

        await NextOnEngineBus<DeviceData>(topic, async () => Assert.True((await client.PublishAsync(message)).IsSuccess));

        System.Diagnostics.Activity gateway = Assert.Single(spans, a => a.OperationName == "gateway verify" && (a.GetTagItem("messaging.destination.name") as string) == topic);
        Assert.Equal(publisher.TraceId, gateway.TraceId);
        Assert.Equal(publisher.SpanId, gateway.ParentSpanId);
        Assert.Equal("accepted", gateway.GetTagItem("alicia.gateway.verdict"));
    }
}
