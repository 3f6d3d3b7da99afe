using System.Security.Cryptography.X509Certificates;
using Alicia.Engine.Security.Gateway;
using Alicia.Engine.Security.Identity;
using Alicia.Host.Commands;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Alicia.Security.Tests;

/// <summary>
/// A real Mosquitto 2 started with the configuration 'alicia broker config mosquitto' generated: TLS 1.3 on a free
/// port with certificates from our CA, the ACL from the policy, a plain loopback listener for anonymous readers.
/// </summary>
public sealed class MosquittoTlsFixture : IAsyncLifetime
{
    public TempDirectory Dir { get; } = new("alicia-sec");
    public int TlsPort { get; } = FreePort.Next();
    public int PlainPort { get; private set; }
    public MosquittoBroker? Broker { get; private set; }
    public X509Certificate2 Root { get; private set; } = null!;

    public string Bundle(string id) => DeviceProvisioner.DefaultBundleDirectory(Dir.Data, id);

    public X509Certificate2 Certificate(string id) =>
        X509Certificate2.CreateFromPemFile(Path.Combine(Bundle(id), "cert.pem"), Path.Combine(Bundle(id), "key.pem"));

    public async Task InitializeAsync()
    {
        PlainPort = FreePort.Next();
        Check(CaCommand.Execute(["init", .. Dir.Options], TextWriter.Null, TextWriter.Null));
        Check(DeviceIdentityCommand.Execute(["provision", "kitchen-sensor", "--type", "sensor", .. Dir.Options], TextWriter.Null, TextWriter.Null));
        Check(DeviceIdentityCommand.Execute(["provision", "porch-sensor", "--type", "sensor", .. Dir.Options], TextWriter.Null, TextWriter.Null));
        Check(DeviceIdentityCommand.Execute(["provision", "stolen-speaker", "--type", "speaker", .. Dir.Options], TextWriter.Null, TextWriter.Null));
        Check(DeviceIdentityCommand.Execute(["revoke", "stolen-speaker", .. Dir.Options], TextWriter.Null, TextWriter.Null));
        Check(DeviceIdentityCommand.Execute(["provision", "engine-svc", "--type", "service", "--role", "engine", .. Dir.Options], TextWriter.Null, TextWriter.Null));
        Check(DeviceIdentityCommand.Execute(["provision", "watch-svc", "--type", "service", "--role", "monitor", .. Dir.Options], TextWriter.Null, TextWriter.Null));
        string outDir = Dir.Sub("mosquitto");
        var stderr = new StringWriter();
        string[] args = ["config", "mosquitto", "--out", outDir, "--port", TlsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--plain-port", PlainPort.ToString(System.Globalization.CultureInfo.InvariantCulture), .. Dir.Options];
        // Started as root, Mosquitto switches to user 'mosquitto', which may not read the 0600 key: stay root then.
        if (Environment.UserName == "root") args = [.. args, "--user", "root"];
        int exit = BrokerCommand.Execute(args, TextWriter.Null, stderr);
        if (exit != 0) throw new InvalidOperationException(stderr.ToString());
        Root = CertificateAuthority.LoadRoot(Path.Combine(outDir, "ca.pem"));
        Broker = await MosquittoBroker.StartAsync(Path.Combine(outDir, "mosquitto.conf"));
    }

    private static void Check(int exit)
    {
        if (exit != 0) throw new InvalidOperationException($"command failed with exit code {exit}");
    }

    public async Task DisposeAsync()
    {
        if (Broker is not null) await Broker.DisposeAsync();
        Root?.Dispose();
        Dir.Dispose();
    }
}

public sealed class MosquittoTlsTests(MosquittoTlsFixture fixture) : IClassFixture<MosquittoTlsFixture>
{
    private static MqttApplicationMessage Message(string topic, string text) =>
        new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(text).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();

    [Fact]
    public async Task A_sensor_publishes_in_its_own_subtree_but_not_in_another_devices()
    {
        // An anonymous reader on the plain loopback listener sees everything under alicia/#.
        using IMqttClient reader = new MqttClientFactory().CreateMqttClient();
        var received = new List<string>();
        var ownArrived = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        reader.ApplicationMessageReceivedAsync += e =>
        {
            lock (received) received.Add(e.ApplicationMessage.Topic);
            if (e.ApplicationMessage.Topic == "alicia/devices/kitchen-sensor/data") ownArrived.TrySetResult(e.ApplicationMessage.ConvertPayloadToString());
            return Task.CompletedTask;
        };
        await reader.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", fixture.PlainPort).WithProtocolVersion(MqttProtocolVersion.V500).Build());
        await reader.SubscribeAsync("alicia/#", MqttQualityOfServiceLevel.AtLeastOnce);

        using X509Certificate2 cert = fixture.Certificate("kitchen-sensor");
        (IMqttClient? sensor, string? error) = await TlsClients.TryConnect(TlsClients.Options(fixture.TlsPort, "kitchen-sensor", cert, fixture.Root));
        Assert.True(sensor is not null, error + "\n" + fixture.Broker!.Log);
        using (sensor)
        {
            // Someone else's subtree: refused with MQTT 5 reason 0x87, and never delivered.
            MqttClientPublishResult forged = await sensor.PublishAsync(Message("alicia/devices/porch-sensor/data", "forged"));
            Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, forged.ReasonCode);
            MqttClientPublishResult outside = await sensor.PublishAsync(Message("alicia/voice/stt/response", "forged"));
            Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, outside.ReasonCode);

            // Its own subtree: accepted and delivered; it arrives after the refused ones would have.
            MqttClientPublishResult own = await sensor.PublishAsync(Message("alicia/devices/kitchen-sensor/data", "21.5"));
            Assert.Equal(MqttClientPublishReasonCode.Success, own.ReasonCode);
            Assert.Equal("21.5", await ownArrived.Task.WaitAsync(TimeSpan.FromSeconds(15)));
            lock (received)
            {
                Assert.DoesNotContain("alicia/devices/porch-sensor/data", received);
                Assert.DoesNotContain("alicia/voice/stt/response", received);
            }

            // Reading outside its grants: Mosquitto's acl_file accepts the SUBSCRIBE but never delivers what the
            // ACL does not let the identity read. The porch sensor's command goes first; the kitchen sensor's own
            // command after it arrives alone.
            var commands = new List<string>();
            var ownCommand = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            sensor.ApplicationMessageReceivedAsync += e =>
            {
                lock (commands) commands.Add(e.ApplicationMessage.Topic);
                if (e.ApplicationMessage.Topic == "alicia/devices/kitchen-sensor/command") ownCommand.TrySetResult();
                return Task.CompletedTask;
            };
            await sensor.SubscribeAsync("alicia/devices/porch-sensor/command", MqttQualityOfServiceLevel.AtLeastOnce);
            await sensor.SubscribeAsync("alicia/devices/kitchen-sensor/command", MqttQualityOfServiceLevel.AtLeastOnce);
            using X509Certificate2 porchCert = fixture.Certificate("porch-sensor");
            (IMqttClient? porch, error) = await TlsClients.TryConnect(TlsClients.Options(fixture.TlsPort, "porch-sensor", porchCert, fixture.Root));
            Assert.True(porch is not null, error);
            using (porch)
            {
                Assert.Equal(MqttClientPublishReasonCode.Success, (await porch.PublishAsync(Message("alicia/devices/porch-sensor/command", "secret"))).ReasonCode);
                await porch.DisconnectAsync();
            }
            Assert.Equal(MqttClientPublishReasonCode.Success, (await sensor.PublishAsync(Message("alicia/devices/kitchen-sensor/command", "mine"))).ReasonCode);
            await ownCommand.Task.WaitAsync(TimeSpan.FromSeconds(15));
            lock (commands) Assert.Equal(["alicia/devices/kitchen-sensor/command"], commands);
            await sensor.DisconnectAsync();
        }
        await reader.DisconnectAsync();
    }

    [Fact]
    public async Task A_voice_session_response_reaches_its_requester_only_never_an_anonymous_or_foreign_reader()
    {
        // The A3 hijack on Mosquitto: an anonymous alicia/# reader, a monitor (alicia/#) and another device that asks for
        // the requester's private topic must not get the one-time token; the requester does.
        var seen = new System.Collections.Concurrent.ConcurrentQueue<(string Who, string Topic)>();
        var markers = new System.Collections.Concurrent.ConcurrentDictionary<string, bool>();
        var own = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        IMqttClient Track(string who, IMqttClient client)
        {
            client.ApplicationMessageReceivedAsync += e =>
            {
                seen.Enqueue((who, e.ApplicationMessage.Topic));
                if (e.ApplicationMessage.Topic is "alicia/voice/session/status" or "alicia/devices/porch-sensor/command") markers[who] = true;
                if (who == "kitchen-sensor" && e.ApplicationMessage.Topic == "alicia/voice/session/response/kitchen-sensor") own.TrySetResult();
                return Task.CompletedTask;
            };
            return client;
        }
        using IMqttClient anonymous = Track("anonymous", new MqttClientFactory().CreateMqttClient());
        await anonymous.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", fixture.PlainPort).WithProtocolVersion(MqttProtocolVersion.V500).Build());
        await anonymous.SubscribeAsync("alicia/#", MqttQualityOfServiceLevel.AtLeastOnce);

        using X509Certificate2 kitchenCert = fixture.Certificate("kitchen-sensor"), porchCert = fixture.Certificate("porch-sensor"),
            monitorCert = fixture.Certificate("watch-svc"), engineCert = fixture.Certificate("engine-svc");
        (IMqttClient? kitchen, string? error) = await TlsClients.TryConnect(TlsClients.Options(fixture.TlsPort, "kitchen-sensor", kitchenCert, fixture.Root));
        Assert.True(kitchen is not null, error + "\n" + fixture.Broker!.Log);
        (IMqttClient? porch, error) = await TlsClients.TryConnect(TlsClients.Options(fixture.TlsPort, "porch-sensor", porchCert, fixture.Root));
        Assert.True(porch is not null, error);
        (IMqttClient? monitor, error) = await TlsClients.TryConnect(TlsClients.Options(fixture.TlsPort, "watch-svc", monitorCert, fixture.Root));
        Assert.True(monitor is not null, error);
        (IMqttClient? engine, error) = await TlsClients.TryConnect(TlsClients.Options(fixture.TlsPort, "engine-svc", engineCert, fixture.Root));
        Assert.True(engine is not null, error);
        using (kitchen) using (porch) using (monitor) using (engine)
        {
            Track("kitchen-sensor", kitchen);
            Track("porch-sensor", porch);
            Track("watch-svc", monitor);
            await kitchen.SubscribeAsync("alicia/voice/session/response/kitchen-sensor", MqttQualityOfServiceLevel.AtLeastOnce);
            await porch.SubscribeAsync("alicia/voice/session/response/kitchen-sensor", MqttQualityOfServiceLevel.AtLeastOnce);
            await porch.SubscribeAsync("alicia/devices/porch-sensor/command", MqttQualityOfServiceLevel.AtLeastOnce);
            await monitor.SubscribeAsync("alicia/#", MqttQualityOfServiceLevel.AtLeastOnce);

            Assert.Equal(MqttClientPublishReasonCode.Success, (await engine.PublishAsync(Message("alicia/voice/session/response/kitchen-sensor", "token-for-kitchen"))).ReasonCode);
            // Markers published after it: once each reader has its marker, it would have had the response.
            Assert.Equal(MqttClientPublishReasonCode.Success, (await engine.PublishAsync(Message("alicia/voice/session/status", "marker"))).ReasonCode);
            Assert.Equal(MqttClientPublishReasonCode.Success, (await engine.PublishAsync(Message("alicia/devices/porch-sensor/command", "marker"))).ReasonCode);
            await own.Task.WaitAsync(TimeSpan.FromSeconds(15));
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            while (!(markers.ContainsKey("anonymous") && markers.ContainsKey("porch-sensor") && markers.ContainsKey("watch-svc")))
                await Task.Delay(20, deadline.Token);
            Assert.Equal(["kitchen-sensor"], seen.Where(m => m.Topic.StartsWith("alicia/voice/session/response/", StringComparison.Ordinal)).Select(m => m.Who));
            await engine.DisconnectAsync();
        }
        await anonymous.DisconnectAsync();
    }

    [Fact]
    public async Task Clients_without_a_certificate_with_a_foreign_one_or_a_revoked_one_cannot_connect()
    {
        (IMqttClient? client, string? error) = await TlsClients.TryConnect(TlsClients.Options(fixture.TlsPort, "anonymous", null, fixture.Root));
        Assert.Null(client);
        Assert.NotNull(error);

        using var foreignDir = new TempDirectory("alicia-sec");
        using CertificateAuthority foreign = CertificateAuthority.Init(foreignDir.Data);
        using X509Certificate2 forged = foreign.IssueClientCertificate("kitchen-sensor", IdentityKind.Sensor);
        (client, error) = await TlsClients.TryConnect(TlsClients.Options(fixture.TlsPort, "kitchen-sensor", forged, fixture.Root));
        Assert.Null(client);
        Assert.NotNull(error);

        using X509Certificate2 revoked = fixture.Certificate("stolen-speaker");
        (client, error) = await TlsClients.TryConnect(TlsClients.Options(fixture.TlsPort, "stolen-speaker", revoked, fixture.Root));
        Assert.Null(client);
        Assert.NotNull(error);

        // The control: a provisioned certificate on the same path connects.
        using X509Certificate2 good = fixture.Certificate("porch-sensor");
        (client, error) = await TlsClients.TryConnect(TlsClients.Options(fixture.TlsPort, "porch-sensor", good, fixture.Root));
        Assert.True(client is not null, error);
        client!.Dispose();
    }

    [Fact]
    public async Task On_the_plain_listener_anonymous_and_borrowed_names_cannot_publish()
    {
        using IMqttClient anonymous = new MqttClientFactory().CreateMqttClient();
        await anonymous.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", fixture.PlainPort).WithProtocolVersion(MqttProtocolVersion.V500).Build());
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, (await anonymous.PublishAsync(Message("alicia/devices/kitchen-sensor/data", "x"))).ReasonCode);
        await anonymous.DisconnectAsync();

        using IMqttClient spoof = new MqttClientFactory().CreateMqttClient();
        await spoof.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", fixture.PlainPort).WithCredentials("kitchen-sensor", "")
            .WithProtocolVersion(MqttProtocolVersion.V500).Build());
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, (await spoof.PublishAsync(Message("alicia/devices/kitchen-sensor/data", "x"))).ReasonCode);
        await spoof.DisconnectAsync();
    }
}
