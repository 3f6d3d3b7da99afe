using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security;
using Alicia.Engine.Security.Audit;
using Alicia.Engine.Security.Gateway;
using MQTTnet;
using MQTTnet.Protocol;

namespace Alicia.Integration.Tests;

/// <summary>
/// The broker is started as early as the engine can (before its bus, its API and every service's start, the
/// gateway's own among them); a client that connects at that instant must meet the whole gateway: authentication,
/// ACLs and ingress verification. The probe runs inside the engine's start, at its "broker listening" phase, and
/// holds the start there until it is done.
/// </summary>
public sealed class EarlyClientTests : IDisposable
{
    private readonly TempDirectory _dir = new("alicia-early");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_client_connecting_the_moment_the_broker_listens_meets_the_whole_gateway()
    {
        var directory = new PasswordDirectory();
        directory.Add(new IdentityRecord("lamp-1", IdentityKind.Actuator), "pw-lamp-1");
        await using var audit = new AuditLog(_dir.Sub("audit.db"));
        var gateway = new SecurityGateway(new GatewayOptions(), directory, audit);
        SigningIdentity? lamp = null;
        bool probed = false;

        await using TestEngine test = await TestEngine.StartAsync(directory: _dir, services: engine =>
        {
            engine.AddService(gateway);
            lamp = engine.Keys.Create("lamp-1");
            engine.StartupTrace = phase =>
            {
                if (phase != "engine: broker listening") return;
                // No sync context inside Task.Run: the probe's awaits do not need the thread held here.
                Task.Run(() => ProbeAsync(engine, lamp)).GetAwaiter().GetResult();
                probed = true;
            };
        });

        Assert.True(probed, "the engine never reported its broker listening");
        lamp?.Dispose();
    }

    private static async Task ProbeAsync(AliciaEngine engine, SigningIdentity lamp)
    {
        // Nothing but the broker is up: the engine's bus is not connected, so no service has started.
        Assert.Throws<InvalidOperationException>(() => engine.Bus);
        System.Net.IPEndPoint tcp = engine.Broker!.TcpEndPoint!;
        BrokerEndpoint endpoint = BrokerEndpoint.Tcp(tcp.Address.ToString(), tcp.Port);
        var clients = new List<IMqttClient>();
        try
        {
            // Anonymous on loopback: read-only.
            IMqttClient anonymous = await ConnectAsync(endpoint, "early-reader", null, null, clients);
            MqttClientPublishResult anonymousPublish = await anonymous.PublishAsync(Message(DeviceData.BuildTopic("lamp-1"), [1, 2, 3]));
            Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, anonymousPublish.ReasonCode);

            // A wrong password is refused.
            IMqttClient impostor = new MqttClientFactory().CreateMqttClient();
            clients.Add(impostor);
            MqttClientConnectResultCode refused;
            try { refused = (await impostor.ConnectAsync(RawMqtt.Options(endpoint, "lamp-1").WithCredentials("lamp-1", "wrong").Build())).ResultCode; }
            catch (MQTTnet.Adapter.MqttConnectingFailedException e)
            {
                // Refusals surface either as a result code or as this exception, depending on the path (as in GatewayTests).
                refused = Enum.GetValues<MqttClientConnectResultCode>().FirstOrDefault(c => e.Message.Contains(c.ToString(), StringComparison.Ordinal), MqttClientConnectResultCode.UnspecifiedError);
            }
            Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, refused);

            // The device itself: its ACL and ingress verification are in force already.
            IMqttClient device = await ConnectAsync(endpoint, "lamp-1", "lamp-1", "pw-lamp-1", clients);
            string own = DeviceData.BuildTopic("lamp-1");
            MqttClientPublishResult garbage = await device.PublishAsync(Message(own, "not an envelope"u8.ToArray()));
            Assert.Equal(MqttClientPublishReasonCode.PayloadFormatInvalid, garbage.ReasonCode);
            MqttClientPublishResult elsewhere = await device.PublishAsync(Message(DeviceData.BuildTopic("lamp-2"), Signed(lamp, DeviceData.BuildTopic("lamp-2"), engine.Clock)));
            Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, elsewhere.ReasonCode);
            MqttClientSubscribeResult foreign = await device.SubscribeAsync(DeviceCommand.BuildTopic("lamp-2"));
            Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, foreign.Items.Single().ResultCode);

            // And an honest, signed message passes.
            MqttClientPublishResult honest = await device.PublishAsync(Message(own, Signed(lamp, own, engine.Clock)));
            Assert.True(honest.ReasonCode is MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers, $"{honest.ReasonCode}: {honest.ReasonString}");
        }
        finally
        {
            foreach (IMqttClient client in clients) await client.CloseAsync();
        }
    }

    private static async Task<IMqttClient> ConnectAsync(BrokerEndpoint endpoint, string clientId, string? username, string? password, List<IMqttClient> clients)
    {
        IMqttClient client = new MqttClientFactory().CreateMqttClient();
        clients.Add(client);
        MqttClientOptionsBuilder options = RawMqtt.Options(endpoint, clientId);
        if (username is not null) options.WithCredentials(username, password);
        MqttClientConnectResult result = await client.ConnectAsync(options.Build());
        Assert.True(result.ResultCode == MqttClientConnectResultCode.Success, $"{result.ResultCode}: {result.ReasonString}");
        return client;
    }

    private static byte[] Signed(SigningIdentity signer, string topic, TimeProvider clock) =>
        Peers.Sign(signer, topic, new Envelope<DeviceData>(EnvelopeHeader.Create(signer.Name, "broadcast", MessageKind.Event, clock), new DeviceData { Values = { ["on"] = 1 } }));

    private static MqttApplicationMessage Message(string topic, byte[] payload) =>
        new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType(AliciaBus.MessagePackContentType).Build();
}
