using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Security.Gateway;
using Alicia.Tools.Voice;
using MQTTnet;

namespace Alicia.Voice.Tests;

/// <summary>
/// The voice session hijack of the adversarial review (issue 10, A3), over real sockets with the security gateway on:
/// an anonymous <c>mosquitto_sub -t 'alicia/#'</c> used to read the one-time audio token on
/// <c>alicia/voice/session/response</c>, claim it first, and have its own stream accepted as the session. Now the
/// response goes to the requester's private topic only, and the token is bound to the request.
/// </summary>
public sealed class SessionPrivacyTests
{
    private static readonly TimeSpan Wait = VoiceEngineHarness.Wait;

    private static async Task<(VoiceEngineHarness Engine, SecurityGateway Gateway)> StartAsync()
    {
        var directory = new PasswordDirectory();
        directory.Add(new IdentityRecord("satellite-1", IdentityKind.Service, "voice"), "pw-satellite-1");
        directory.Add(new IdentityRecord("satellite-2", IdentityKind.Service, "voice"), "pw-satellite-2");
        directory.Add(new IdentityRecord("monitor-1", IdentityKind.Service, "monitor"), "pw-monitor-1");
        var gateway = new SecurityGateway(new GatewayOptions(), directory);
        return (await VoiceEngineHarness.StartAsync(before: e => e.AddService(gateway)), gateway);
    }

    private static Task<AliciaBus> Satellite(VoiceEngineHarness engine, string name) =>
        engine.ClientAsync(name, new BusOptions { ClientId = name, Username = name, Password = Encoding.UTF8.GetBytes("pw-" + name) });

    private static CancellationToken Timeout() => new CancellationTokenSource(Wait).Token;

    [Fact]
    public async Task Anonymous_and_foreign_readers_of_alicia_never_see_the_token_and_a_stream_with_a_token_not_issued_to_it_is_refused()
    {
        (VoiceEngineHarness engine, SecurityGateway gateway) = await StartAsync();
        await using VoiceEngineHarness owned = engine;
        // The attack as it was run: an anonymous mosquitto_sub on loopback reading everything under alicia/ (topic and hex payload).
        await using MosquittoSubscriber watcher = await MosquittoClients.SubscribeAsync(
            "-V", "mqttv5", "-h", "127.0.0.1", "-p", engine.Endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-t", "alicia/#", "-F", "%t %x");
        Assert.Equal("0", watcher.Granted);
        // A foreign identity allowed to read all of alicia/ (the monitor role), and another voice client.
        var seen = new ConcurrentQueue<(string Client, string Topic, byte[] Payload)>();
        var monitorSawStatus = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        IMqttClient monitor = await RawMqtt.ConnectAsync(engine.Endpoint, "monitor-1", o => o.WithCredentials("monitor-1", "pw-monitor-1"));
        IMqttClient other = await RawMqtt.ConnectAsync(engine.Endpoint, "satellite-2", o => o.WithCredentials("satellite-2", "pw-satellite-2"));
        foreach ((string name, IMqttClient client) in new[] { ("monitor-1", monitor), ("satellite-2", other) })
        {
            client.ApplicationMessageReceivedAsync += e =>
            {
                seen.Enqueue((name, e.ApplicationMessage.Topic, System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload)));
                if (name == "monitor-1" && e.ApplicationMessage.Topic == "alicia/voice/session/status") monitorSawStatus.TrySetResult();
                return Task.CompletedTask;
            };
        }
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS0, (await monitor.SubscribeAsync("alicia/#")).Items.Single().ResultCode);
        // Another voice client may not subscribe to the requester's private topic, nor to all of them; a reader whose grant
        // covers them (alicia/#: anonymous, monitor) is subscribed, but is never delivered another identity's private answer.
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, (await other.SubscribeAsync("alicia/voice/session/response/satellite-1")).Items.Single().ResultCode);
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, (await other.SubscribeAsync("alicia/voice/session/response/+")).Items.Single().ResultCode);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS0, (await other.SubscribeAsync("alicia/voice/session/response/satellite-2")).Items.Single().ResultCode);

        try
        {
            await using AliciaBus satellite = await Satellite(engine, "satellite-1");
            byte[] secret = RandomNumberGenerator.GetBytes(32);
            VoiceSessionResponse session = (await satellite.RequestAsync<VoiceSessionRequest, VoiceSessionResponse>(
                new VoiceSessionRequest { DeviceId = "satellite-1", HelloProofHash = SHA256.HashData(secret) }, engine.Engine.Name, timeout: Wait)).Data;
            Assert.True(session.Accepted, session.Error);

            // Whoever got hold of the token (it used to be readable by anyone) cannot open the session with it, nor use it up.
            (string? error, int utterances) = await VoiceClient.StreamAsync(session, VoiceEngineHarness.Command().Pcm, 16000, 1, new VoiceSendOptions { Timeout = Wait }, Timeout());
            Assert.Equal("this session token was issued to another client (the hello lacks the requester's proof)", error);
            Assert.Equal(0, utterances);
            (error, _) = await VoiceClient.StreamAsync(session, VoiceEngineHarness.Command().Pcm, 16000, 1, new VoiceSendOptions { Timeout = Wait }, Timeout(), RandomNumberGenerator.GetBytes(32));
            Assert.Equal("this session token was issued to another client (the hello lacks the requester's proof)", error);

            // The requester's stream is the session, and completes.
            var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await using IAsyncDisposable status = await satellite.SubscribeAsync<VoiceSessionStatus>((m, _) =>
            {
                if (m.Data.SessionId == session.SessionId && m.Data.State == VoiceSessionState.Closed) closed.TrySetResult();
                return default;
            });
            (error, utterances) = await VoiceClient.StreamAsync(session, VoiceEngineHarness.Command().Pcm, 16000, 1, new VoiceSendOptions { Timeout = Wait }, Timeout(), secret);
            Assert.Null(error);
            Assert.Equal(1, utterances);
            await closed.Task.WaitAsync(Wait);

            // The session's status is published after its response: once the watchers have it, they would have had the response.
            await watcher.WaitForLineAsync(l => l.StartsWith("alicia/voice/session/status ", StringComparison.Ordinal), Wait);
            await monitorSawStatus.Within(Wait);
            string tokenHex = Convert.ToHexStringLower(Encoding.UTF8.GetBytes(session.Token));
            Assert.DoesNotContain("alicia/voice/session/response", watcher.Log, StringComparison.Ordinal);
            Assert.DoesNotContain(tokenHex, watcher.Log, StringComparison.Ordinal);
            Assert.Contains("alicia/voice/session/request ", watcher.Log, StringComparison.Ordinal); // it did read the bus
            Assert.DoesNotContain(seen, m => m.Topic.StartsWith("alicia/voice/session/response", StringComparison.Ordinal)
                || Convert.ToHexStringLower(m.Payload).Contains(tokenHex, StringComparison.Ordinal));
            Assert.True(gateway.Metrics.Count("acl:deliver") >= 2, $"withheld deliveries: {gateway.Metrics.Count("acl:deliver")}");
        }
        finally
        {
            await monitor.CloseAsync();
            await other.CloseAsync();
        }
    }

    [Fact]
    public async Task A_bearer_token_client_still_works_through_its_private_topic_and_alicia_voice_send_binds_its_token()
    {
        (VoiceEngineHarness engine, _) = await StartAsync();
        await using VoiceEngineHarness owned = engine;
        await using AliciaBus satellite = await Satellite(engine, "satellite-1");

        // A client that cannot prove anything (the browser page gets a pasted token): the token alone opens the session.
        VoiceSessionResponse session = (await satellite.RequestAsync<VoiceSessionRequest, VoiceSessionResponse>(new VoiceSessionRequest(), engine.Engine.Name, timeout: Wait)).Data;
        Assert.True(session.Accepted, session.Error);
        (string? error, int utterances) = await VoiceClient.StreamAsync(session, VoiceEngineHarness.Command().Pcm, 16000, 1, new VoiceSendOptions { Timeout = Wait }, Timeout());
        Assert.Null(error);
        Assert.Equal(1, utterances);

        // alicia voice send: request, proof and stream through the gateway.
        VoiceSendResult result = await VoiceClient.SendAsync(satellite, VoiceEngineHarness.Command().Pcm, 16000, 1, new VoiceSendOptions { Engine = engine.Engine.Name, Timeout = Wait }, Timeout());
        Assert.Null(result.Error);
        Assert.Equal(1, result.Utterances);
    }
}
