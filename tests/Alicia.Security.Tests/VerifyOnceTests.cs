using System.Collections.Concurrent;
using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Registry;
using Alicia.Engine.Security;
using Alicia.Engine.Security.Gateway;
using Alicia.Tools.Simulation;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace Alicia.Security.Tests;

/// <summary>
/// Verify once: with the embedded broker and its gateway, the gateway verifies each signed publish at the door and marks
/// what it delivers (<see cref="VerifiedMark"/>); the engine's own subscribers (its bus, the registry's raw path) take a
/// marked message without a second signature check or replay record. Clients cannot bring their own mark: it is stripped
/// from every inbound publish, and a mark is bound to its topic and payload under a per-process key anyway.
/// Devices here are password identities connected over loopback TCP with a plain MQTTnet client.
/// </summary>
public sealed class VerifyOnceTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new("alicia-verify-once");
    private readonly PasswordDirectory _directory = new();
    private readonly List<IMqttClient> _clients = [];
    private TestEngine _test = null!;
    private AliciaEngine _engine = null!;
    private SecurityGateway _gateway = null!;
    private RegistryService _registry = null!;

    public async Task InitializeAsync()
    {
        _gateway = new SecurityGateway(new GatewayOptions(), _directory);
        _test = await TestEngine.StartAsync(services: e => e.AddService(_gateway).AddService(_registry = new RegistryService(new RegistryOptions())), directory: _dir);
        _engine = _test.Engine;
    }

    public async Task DisposeAsync()
    {
        foreach (IMqttClient c in _clients) await c.CloseAsync();
        await _test.DisposeAsync();
        _dir.Dispose();
    }

    private SigningIdentity Device(string id)
    {
        _directory.Add(new IdentityRecord(id, IdentityKind.Sensor), "pw-" + id);
        return _engine.Keys.Create(id);
    }

    private async Task<IMqttClient> Connect(string id)
    {
        IMqttClient client = await RawMqtt.ConnectAsync(_test.Endpoint, id, o => o.WithCredentials(id, "pw-" + id));
        _clients.Add(client);
        return client;
    }

    private static byte[] Signed<T>(SigningIdentity signer, string topic, T data) where T : IAliciaSerializable<T> =>
        Sign(signer, topic, new Envelope<T>(EnvelopeHeader.Create(signer.Name, EnvelopeHeader.Broadcast, MessageKind.Event, TimeProvider.System), data));

    private static byte[] Sign<T>(SigningIdentity signer, string topic, in Envelope<T> envelope) where T : IAliciaSerializable<T>
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        new EnvelopeSigner(signer).Encode(output, topic, envelope);
        return output.WrittenSpan.ToArray();
    }

    private static MqttApplicationMessage Message(string topic, byte[] payload, params MqttUserProperty[] properties)
    {
        MqttApplicationMessageBuilder builder = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithContentType(AliciaBus.MessagePackContentType);
        foreach (MqttUserProperty p in properties) builder.WithUserProperty(p.Name, p.ValueBuffer);
        return builder.Build();
    }

    private static void Accepted(MqttClientPublishResult r) =>
        Assert.True(r.ReasonCode is MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers, $"{r.ReasonCode}: {r.ReasonString}");

    private Task<RegistryChange> NextChange(Func<RegistryChange, bool> match)
    {
        var changed = new TaskCompletionSource<RegistryChange>(TaskCreationOptions.RunContinuationsAsynchronously);
        _registry.Registry.Changed += c => { if (match(c)) changed.TrySetResult(c); };
        return changed.Within();
    }

    [Fact]
    public async Task The_registry_and_a_typed_DeviceStatus_subscriber_both_take_the_same_signed_birth()
    {
        // The old race: both verified the birth with the engine's one verifier, and the second saw a "replay".
        SigningIdentity device = Device("vo-lamp");
        IMqttClient client = await Connect(device.Name);
        Task<RegistryChange> registered = NextChange(c => c.Device.DeviceId == device.Name && c.Kind == RegistryChangeKind.Registered);
        Accepted(await client.PublishAsync(Message(DeviceRegistration.Topic, Signed(device, DeviceRegistration.Topic, SimulatedDevice.Describe(device.Name, SimulatedKind.Bulb, "hall")))));
        await registered;

        var refusals = new ConcurrentQueue<Verdict>();
        _engine.Bus.Rejected += (_, verdict) => refusals.Enqueue(verdict);
        var typed = new TaskCompletionSource<BusMessage<DeviceStatus>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IAsyncDisposable subscription = await _engine.Bus.SubscribeAsync<DeviceStatus>((m, _) =>
        {
            if (m.Source == device.Name) typed.TrySetResult(m);
            return ValueTask.CompletedTask;
        }, new SubscribeOptions { ReceiveAll = true });
        Task<RegistryChange> birth = NextChange(c => c.Device.DeviceId == device.Name && c.Cause == "birth");

        string topic = DeviceStatus.BuildTopic(device.Name);
        Accepted(await client.PublishAsync(Message(topic, Signed(device, topic, new DeviceStatus { State = DeviceState.Degraded, BirthSequence = 7 }))));

        BusMessage<DeviceStatus> seen = await typed.Within();
        Assert.Equal(DeviceState.Degraded, seen.Data.State);
        RegistryChange change = await birth;
        Assert.Equal(DeviceState.Degraded, change.Device.State);
        Assert.Empty(refusals);
    }

    /// <summary>Subscribes the engine's bus to <paramref name="device"/>'s data; every message lands in the returned queue.</summary>
    private async Task<(IAsyncDisposable Subscription, System.Threading.Channels.Channel<BusMessage<DeviceData>> Received)> EngineReceives(string device)
    {
        var received = System.Threading.Channels.Channel.CreateUnbounded<BusMessage<DeviceData>>();
        IAsyncDisposable subscription = await _engine.Bus.SubscribeAsync<DeviceData>((m, _) => { received.Writer.TryWrite(m); return ValueTask.CompletedTask; },
            new SubscribeOptions { Filter = DeviceData.BuildTopic(device), ReceiveAll = true });
        return (subscription, received);
    }

    /// <summary>An anonymous loopback reader (outside the engine) of <paramref name="topic"/>: what it receives, with the user properties.</summary>
    private async Task<System.Threading.Channels.Channel<MqttApplicationMessage>> Eavesdrop(string topic)
    {
        var seen = System.Threading.Channels.Channel.CreateUnbounded<MqttApplicationMessage>();
        IMqttClient reader = await RawMqtt.ConnectAsync(_test.Endpoint, "eavesdropper-" + Guid.NewGuid().ToString("N")[..6]);
        _clients.Add(reader);
        reader.ApplicationMessageReceivedAsync += e => { seen.Writer.TryWrite(e.ApplicationMessage); return Task.CompletedTask; };
        await reader.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
        return seen;
    }

    private static MqttUserProperty[] Marks(MqttApplicationMessage m) => [.. (m.UserProperties ?? []).Where(p => p.Name == VerifiedMark.PropertyName)];

    [Fact]
    public async Task A_gateway_verified_message_reaches_the_engine_marked_and_is_verified_once()
    {
        SigningIdentity device = Device("vo-sensor");
        IMqttClient client = await Connect(device.Name);
        (IAsyncDisposable subscription, var received) = await EngineReceives(device.Name);
        await using (subscription)
        {
            EnvelopeVerifier ingress = _gateway.IngressVerifier!;
            long gatewayChecks = ingress.SignatureChecks, engineChecks = _engine.Verifier.SignatureChecks, engineMarked = _engine.Verifier.MarkedAccepted;
            string topic = DeviceData.BuildTopic(device.Name);

            Accepted(await client.PublishAsync(Message(topic, Signed(device, topic, new DeviceData { Values = { ["lux"] = 310 } }))));

            BusMessage<DeviceData> m = await received.Reader.ReadAsync().AsTask().WaitAsync(Waits.Long);
            Assert.Equal(310, m.Data.Values["lux"]);
            Assert.Equal(device.Name, m.Source); // the verified source still reaches the subscriber
            Assert.Equal(Attestation.SourceSigned, m.Envelope.Attestation);
            Assert.True(m.VerifiedAtGateway);
            Assert.Equal(gatewayChecks + 1, ingress.SignatureChecks); // verified at the door ...
            Assert.Equal(engineChecks, _engine.Verifier.SignatureChecks); // ... and not again in the engine
            Assert.Equal(engineMarked + 1, _engine.Verifier.MarkedAccepted);
            // Its sequence is observed once, at the door; the engine's subscribers may take it in any order.
            Assert.Equal(1, ingress.Sequences.Of(device.Name).Last);
            Assert.Equal(0, _engine.Verifier.Sequences.Of(device.Name).Last);
        }
    }

    [Fact]
    public async Task A_mark_sent_by_a_client_is_stripped_and_the_message_is_verified_as_any_other()
    {
        SigningIdentity device = Device("vo-forger");
        IMqttClient client = await Connect(device.Name);
        string topic = DeviceData.BuildTopic(device.Name);
        var outside = await Eavesdrop(topic);
        (IAsyncDisposable subscription, var received) = await EngineReceives(device.Name);
        await using (subscription)
        {
            // 1. A good message: delivered with one mark, the gateway's (an outside reader sees it too; it fits only these bytes).
            byte[] first = Signed(device, topic, new DeviceData { Values = { ["n"] = 1 } });
            Accepted(await client.PublishAsync(Message(topic, first)));
            MqttApplicationMessage delivered = await outside.Reader.ReadAsync().AsTask().WaitAsync(Waits.Long);
            MqttUserProperty captured = Assert.Single(Marks(delivered));
            Assert.True((await received.Reader.ReadAsync().AsTask().WaitAsync(Waits.Long)).VerifiedAtGateway);

            // 2. The same bytes again with the captured mark: stripped, verified, refused as a replay.
            MqttClientPublishResult replay = await client.PublishAsync(Message(topic, first, captured));
            Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, replay.ReasonCode);
            Assert.Contains("already received", replay.ReasonString);

            // 3. A forgery (one signature byte flipped) wearing a mark that is valid for it under the gateway's own key:
            //    stripped all the same, and refused for its signature.
            byte[] forged = Signed(device, topic, new DeviceData { Values = { ["n"] = 3 } });
            forged[^1] ^= 0x01;
            var validForForgery = new MqttUserProperty(VerifiedMark.PropertyName, _engine.Verifier.Mark!.Create(topic, forged).AsMemory());
            MqttClientPublishResult refused = await client.PublishAsync(Message(topic, forged, validForForgery));
            Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, refused.ReasonCode);
            Assert.Contains("does not match the signature", refused.ReasonString);

            // 4. Unsigned bytes with a mark: refused as malformed or unsigned, never delivered.
            MqttClientPublishResult unsigned = await client.PublishAsync(Message(topic, [0x93, 0x01, 0x02, 0x03], validForForgery));
            Assert.NotEqual(MqttClientPublishReasonCode.Success, unsigned.ReasonCode);

            // 5. A good message with a made-up mark: accepted, and delivered with only the gateway's own mark.
            byte[] fifth = Signed(device, topic, new DeviceData { Values = { ["n"] = 5 } });
            byte[] madeUp = "00000000000000000000000000000000"u8.ToArray();
            Accepted(await client.PublishAsync(Message(topic, fifth, new MqttUserProperty(VerifiedMark.PropertyName, madeUp.AsMemory()), new MqttUserProperty("Alicia-Verified", madeUp.AsMemory()))));
            MqttApplicationMessage fifthOutside = await outside.Reader.ReadAsync().AsTask().WaitAsync(Waits.Long);
            MqttUserProperty remark = Assert.Single(Marks(fifthOutside));
            Assert.DoesNotContain(fifthOutside.UserProperties!, p => p.Name == "Alicia-Verified");
            Assert.True(_engine.Verifier.Mark!.IsValid(topic, fifth, remark.ValueBuffer.Span));
            BusMessage<DeviceData> next = await received.Reader.ReadAsync().AsTask().WaitAsync(Waits.Long);
            Assert.Equal(5, next.Data.Values["n"]); // messages 2-4 never reached the engine
            Assert.True(next.VerifiedAtGateway);
            Assert.Equal(4, _gateway.Metrics.Count("mark:stripped")); // publishes 2 to 5 each came with a mark
        }
    }

    [Fact]
    public void A_mark_fits_only_its_topic_and_payload_under_this_process_key()
    {
        var mark = new VerifiedMark();
        byte[] payload = [1, 2, 3, 4];
        byte[] value = mark.Create("alicia/devices/a/data", payload);
        Assert.Equal(VerifiedMark.ValueLength, value.Length);
        Assert.True(mark.IsValid("alicia/devices/a/data", payload, value));
        Assert.False(mark.IsValid("alicia/devices/b/data", payload, value));
        Assert.False(mark.IsValid("alicia/devices/a/data", [1, 2, 3, 5], value));
        Assert.False(new VerifiedMark().IsValid("alicia/devices/a/data", payload, value)); // another process's key
        Assert.False(mark.IsValid("alicia/devices/a/data", payload, value.AsSpan(1)));
    }

    [Fact]
    public void One_key_gives_the_same_mark_on_every_thread_and_the_mark_is_lower_case_hex()
    {
        // The gateway marks on every client's receive loop at once and the engine's bus checks on its own: one key, many threads.
        var mark = new VerifiedMark();
        byte[] payload = [.. Enumerable.Range(0, 300).Select(i => (byte)i)];
        byte[] expected = mark.Create("alicia/devices/a/data", payload);
        Assert.All(expected, b => Assert.True(b is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f', $"'{(char)b}' is not lower-case hex"));
        var marks = new ConcurrentBag<byte[]>();
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ =>
        {
            byte[] value = mark.Create("alicia/devices/a/data", payload);
            Assert.True(mark.IsValid("alicia/devices/a/data", payload, value));
            marks.Add(value);
        });
        Assert.Equal(64, marks.Count);
        Assert.All(marks, m => Assert.Equal(expected, m));
        Assert.NotEqual(expected, new VerifiedMark().Create("alicia/devices/a/data", payload)); // each process draws its own key
    }
}

/// <summary>
/// With an external broker (a real Mosquitto) there is no gateway at the door, so nothing the engine receives counts as
/// marked: its subscribers verify every message, whatever user properties it carries.
/// </summary>
public sealed class VerifyWithExternalBrokerTests
{
    [Fact]
    public async Task With_Mosquitto_the_engine_verifies_every_message_even_one_that_carries_a_mark()
    {
        await using MosquittoBroker mosquitto = await MosquittoBroker.StartLoopbackAsync();
        // The gateway service is configured as by default, but an external broker has no door for it to keep.
        await using TestEngine test = await TestEngine.StartAsync(o => o.BrokerUrl = $"mqtt://127.0.0.1:{mosquitto.Port}",
            e => e.AddService(new SecurityGateway(new GatewayOptions(), new PasswordDirectory())));
        AliciaEngine engine = test.Engine;
        Assert.Null(engine.Verifier.Mark);
        SigningIdentity device = engine.Keys.Create("vo-external");
        string topic = DeviceData.BuildTopic(device.Name);

        var received = System.Threading.Channels.Channel.CreateUnbounded<BusMessage<DeviceData>>();
        var refused = new TaskCompletionSource<Verdict>(TaskCreationOptions.RunContinuationsAsynchronously);
        engine.Bus.Rejected += (t, verdict) => { if (t == topic) refused.TrySetResult(verdict); };
        await using IAsyncDisposable subscription = await engine.Bus.SubscribeAsync<DeviceData>((m, _) => { received.Writer.TryWrite(m); return ValueTask.CompletedTask; },
            new SubscribeOptions { Filter = topic, ReceiveAll = true });
        IMqttClient client = await RawMqtt.ConnectAsync(mosquitto.Endpoint, device.Name);
        try
        {
            var made = new MqttUserProperty(VerifiedMark.PropertyName, "0123456789abcdef0123456789abcdef"u8.ToArray().AsMemory());
            long checks = engine.Verifier.SignatureChecks;
            var good = new Envelope<DeviceData>(EnvelopeHeader.Create(device.Name, EnvelopeHeader.Broadcast, MessageKind.Event, TimeProvider.System), new DeviceData { Values = { ["n"] = 1 } });
            await client.PublishAsync(Build(topic, Sign(device, topic, good), made));
            BusMessage<DeviceData> m = await received.Reader.ReadAsync().AsTask().WaitAsync(Waits.Long);
            Assert.False(m.VerifiedAtGateway);
            Assert.Equal(device.Name, m.Source);
            Assert.True(engine.Verifier.SignatureChecks > checks); // verified here

            var next = new Envelope<DeviceData>(EnvelopeHeader.Create(device.Name, EnvelopeHeader.Broadcast, MessageKind.Event, TimeProvider.System), new DeviceData { Values = { ["n"] = 2 } });
            byte[] forged = Sign(device, topic, next);
            forged[^1] ^= 0x01;
            await client.PublishAsync(Build(topic, forged, made));
            Assert.Equal(RejectReason.BadSignature, (await refused.Within()).Reason);
        }
        finally
        {
            await client.CloseAsync();
        }
    }

    private static byte[] Sign<T>(SigningIdentity signer, string topic, in Envelope<T> envelope) where T : IAliciaSerializable<T>
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        new EnvelopeSigner(signer).Encode(output, topic, envelope);
        return output.WrittenSpan.ToArray();
    }

    private static MqttApplicationMessage Build(string topic, byte[] payload, MqttUserProperty mark) =>
        new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType(AliciaBus.MessagePackContentType).WithUserProperty(mark.Name, mark.ValueBuffer).Build();
}
