using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security;

namespace Alicia.Integration.Tests;

/// <summary>The engine as a library: embedded broker, its own signed client, its core services.</summary>
public sealed class EngineTests : IAsyncLifetime
{
    private TestEngine _test = null!;
    private AliciaEngine _engine = null!;

    public async Task InitializeAsync()
    {
        _test = await TestEngine.StartAsync(o => o.HeartbeatInterval = TimeSpan.FromMilliseconds(200));
        _engine = _test.Engine;
    }

    public async Task DisposeAsync() => await _test.DisposeAsync();

    private Task<AliciaBus> Client(string name) => _test.ClientAsync(name); // the engine trusts its key directory

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
        await using AliciaBus client = await AliciaBus.ConnectAsync(_test.Endpoint, stranger, _test.Verifier());

        await Assert.ThrowsAsync<TimeoutException>(() =>
            client.RequestAsync<ApiRequest, ApiResponse>(new ApiRequest { Operation = "ping" }, "alicia-engine", timeout: TimeSpan.FromMilliseconds(500)));
        Assert.Equal(1, _engine.Metrics.RejectedCount(RejectReason.UnknownSource));
    }
}
