using System.Buffers;
using Alicia.Contracts;
using Alicia.Engine.Bus;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Security;
using MQTTnet;
using MQTTnet.Protocol;

namespace Alicia.Integration.Tests;

/// <summary>
/// Builds the participants of one test: buses with their own identities, all trusted by one trust
/// store, and a raw MQTT client for sending what a well-behaved bus never would.
/// </summary>
internal sealed class Peers : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly List<SigningIdentity> _identities = [];
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..6];

    public TrustStore Trust { get; } = new();

    /// <summary>A unique name, so tests sharing one broker never see each other's traffic.</summary>
    public string Name(string role) => $"{role}-{_suffix}";

    public SigningIdentity Identity(string role, bool trusted = true)
    {
        var identity = SigningIdentity.Create(Name(role));
        _identities.Add(identity);
        if (trusted) Trust.Trust(identity.Name, identity.PublicKey);
        return identity;
    }

    public async Task<AliciaBus> Bus(string role, BrokerEndpoint endpoint, VerifierOptions? verifierOptions = null)
    {
        SigningIdentity identity = Identity(role);
        var verifier = new EnvelopeVerifier(Trust, verifierOptions, new BusMetrics());
        AliciaBus bus = await AliciaBus.ConnectAsync(endpoint, identity, verifier, new BusOptions { ReconnectMinDelay = TimeSpan.FromMilliseconds(50), ReconnectMaxDelay = TimeSpan.FromMilliseconds(500) });
        _owned.Add(bus);
        return bus;
    }

    public async Task<IMqttClient> RawClient(BrokerEndpoint endpoint)
    {
        IMqttClient client = await RawMqtt.ConnectAsync(endpoint, Name("raw") + Guid.NewGuid().ToString("N")[..4]);
        _owned.Add(new AsyncDisposableAction(async () => await client.CloseAsync()));
        return client;
    }

    public static byte[] Sign<T>(SigningIdentity identity, string topic, in Envelope<T> envelope) where T : IAliciaSerializable<T>
    {
        var output = new ArrayBufferWriter<byte>();
        new EnvelopeSigner(identity).Encode(output, topic, envelope);
        return output.WrittenSpan.ToArray();
    }

    public static Task PublishRaw(IMqttClient client, string topic, byte[] payload, string contentType = AliciaBus.MessagePackContentType) =>
        client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithContentType(contentType)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

    public async ValueTask DisposeAsync()
    {
        for (int i = _owned.Count - 1; i >= 0; i--) await _owned[i].DisposeAsync();
        foreach (SigningIdentity identity in _identities) identity.Dispose();
    }

    private sealed class AsyncDisposableAction(Func<ValueTask> action) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => action();
    }
}
