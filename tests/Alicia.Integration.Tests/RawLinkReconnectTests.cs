using System.Text;
using Alicia.Engine.Bus;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;

namespace Alicia.Integration.Tests;

/// <summary>The raw links of the registry, Home Assistant and the simulator share the bus client's reconnect loop.</summary>
public sealed class RawLinkReconnectTests
{
    [Fact]
    public async Task A_raw_link_reconnects_after_a_broker_restart_restores_its_subscription_and_says_so()
    {
        var broker = new EmbeddedBroker(new EmbeddedBrokerOptions { Port = 0 });
        await broker.StartAsync();
        int port = broker.TcpEndPoint!.Port;
        BrokerEndpoint endpoint = BrokerEndpoint.Tcp("127.0.0.1", port);

        var connects = new List<bool>();
        var reconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using RawMqttLink link = await RawMqttLink.ConnectAsync(endpoint, "raw-link-test", NullLogger.Instance, connected: first =>
        {
            lock (connects) connects.Add(first);
            if (!first) reconnected.TrySetResult();
            return Task.CompletedTask;
        });
        await link.SubscribeAsync("alicia/devices/+/status");
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        link.Received += m => { received.TrySetResult(m.Topic + " " + Encoding.UTF8.GetString(m.Payload)); return Task.CompletedTask; };

        await broker.DisposeAsync();
        await using var restarted = new EmbeddedBroker(new EmbeddedBrokerOptions { Port = port });
        await restarted.StartAsync();
        await reconnected.Within();
        Assert.True(link.IsConnected);

        using IMqttClient publisher = new MqttClientFactory().CreateMqttClient();
        await publisher.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId("publisher").Build());
        await publisher.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("alicia/devices/lamp-1/status").WithPayload("online"u8.ToArray())
            .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build());

        Assert.Equal("alicia/devices/lamp-1/status online", await received.Within());
        lock (connects) Assert.Equal([true, false], connects);
    }
}
