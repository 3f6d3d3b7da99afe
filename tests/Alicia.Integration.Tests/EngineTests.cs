using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Security;

namespace Alicia.Integration.Tests;

/// <summary>The engine as a library: embedded broker, its own signed client, its core services.</summary>
public sealed class EngineTests : IAsyncLifetime
{
    private readonly string _keys = Path.Combine(Path.GetTempPath(), "alicia-engine-keys-" + Guid.NewGuid().ToString("N"));
    private AliciaEngine _engine = null!;

    public async Task InitializeAsync()
    {
        _engine = new AliciaEngine(new AliciaEngineOptions
        {
            KeyDirectory = _keys,
            Broker = new EmbeddedBrokerOptions { Port = 0 },
            HeartbeatInterval = TimeSpan.FromMilliseconds(200),
        });
        await _engine.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _engine.DisposeAsync();
        Directory.Delete(_keys, recursive: true);
    }

    private async Task<AliciaBus> Client(string name)
    {
        SigningIdentity identity = _engine.Keys.Create(name); // the engine trusts the key directory
        var verifier = new EnvelopeVerifier(new TrustStore(_engine.Keys), metrics: new BusMetrics());
        return await AliciaBus.ConnectAsync(_engine.ClientEndpoint!, identity, verifier);
    }

    [Fact]
    public async Task A_client_over_tcp_pings_the_engine_and_gets_a_signed_reply()
    {
        await using AliciaBus client = await Client("kitchen-panel");

        BusMessage<ApiResponse> reply = await client.RequestAsync<ApiRequest, ApiResponse>(new ApiRequest { Operation = "ping" }, "alicia-engine", timeout: Waits.Long);

        Assert.Equal(200, reply.Data.Status);
        Assert.StartsWith("pong from alicia-engine to kitchen-panel", reply.Data.Body);
        Assert.Equal("alicia-engine", reply.Source);
        Assert.Equal(Alicia.Contracts.Attestation.SourceSigned, reply.Envelope.Attestation);
        Assert.Equal(1, _engine.Metrics.AcceptedCount);
    }

    [Fact]
    public async Task Unknown_operation_gets_a_clear_404()
    {
        await using AliciaBus client = await Client("tablet");
        BusMessage<ApiResponse> reply = await client.RequestAsync<ApiRequest, ApiResponse>(new ApiRequest { Operation = "fly" }, "alicia-engine", timeout: Waits.Long);
        Assert.Equal(404, reply.Data.Status);
        Assert.Contains("unknown operation 'fly'", reply.Data.Body);
    }

    [Fact]
    public async Task The_engine_publishes_signed_heartbeats_in_the_health_schema()
    {
        await using AliciaBus client = await Client("watcher");
        var beats = new TaskCompletionSource<BusMessage<ServiceHealth>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await client.SubscribeAsync<ServiceHealth>((m, _) =>
        {
            if (m.Source == "alicia-engine") beats.TrySetResult(m);
            return ValueTask.CompletedTask;
        });

        BusMessage<ServiceHealth> beat = await beats.Within();

        Assert.Equal(HealthStatus.Healthy, beat.Data.Status);
        Assert.Equal("alicia-engine", beat.Data.Service);
        Assert.Equal(200, beat.Data.IntervalMs);
        Assert.True(beat.Data.Sequence >= 1);
        Assert.Equal(HealthStatus.Healthy, beat.Data.Dependencies["broker"]);
        Assert.Contains("accepted", beat.Data.Metrics.Keys);
    }

    [Fact]
    public async Task A_request_from_an_untrusted_identity_is_refused_and_counted()
    {
        using SigningIdentity stranger = SigningIdentity.Create("stranger");
        var verifier = new EnvelopeVerifier(new TrustStore(_engine.Keys), metrics: new BusMetrics());
        await using AliciaBus client = await AliciaBus.ConnectAsync(_engine.ClientEndpoint!, stranger, verifier);

        await Assert.ThrowsAsync<TimeoutException>(() =>
            client.RequestAsync<ApiRequest, ApiResponse>(new ApiRequest { Operation = "ping" }, "alicia-engine", timeout: TimeSpan.FromMilliseconds(500)));
        Assert.Equal(1, _engine.Metrics.RejectedCount(RejectReason.UnknownSource));
    }
}
