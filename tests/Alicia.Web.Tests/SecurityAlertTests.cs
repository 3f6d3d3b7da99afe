using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using MQTTnet;

namespace Alicia.Web.Tests;

public sealed class SecurityAlertTests
{
    [Fact]
    public async Task A_burst_of_forged_messages_fires_a_security_alert_on_the_bus_naming_the_refusal()
    {
        var engine = new ObservedEngine { ConfigureMonitoring = o => o.Alerts.SecurityEvents = 3 };
        await engine.InitializeAsync();
        try
        {
            await using AliciaBus ops = await engine.Test.ClientAsync("security-watcher");
            var fired = new TaskCompletionSource<AlertNotice>(TaskCreationOptions.RunContinuationsAsynchronously);
            await ops.SubscribeAsync<AlertNotice>((m, _) =>
            {
                if (m.Data.Id == "security:refusals" && m.Data.State == AlertState.Firing) fired.TrySetResult(m.Data);
                return default;
            });
            IMqttClient forger = await RawMqtt.ConnectAsync(engine.Test.Endpoint);
            try
            {
                // Not an envelope at all, on a topic the engine listens to: refused (malformed) and counted.
                for (int i = 0; i < 3; i++)
                    await forger.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(ServiceHealth.TopicPattern).WithPayload([0xC1, 0x00, (byte)i]).Build());
            }
            finally
            {
                await forger.CloseAsync();
            }
            AlertNotice alert = await fired.Within();
            Assert.Equal("critical", alert.Severity);
            Assert.Contains("malformed 3", alert.Message);
            Assert.Contains(engine.Monitoring.Alerts!.History(), a => a.Id == "security:refusals");
        }
        finally
        {
            await engine.DisposeAsync();
        }
    }
}
