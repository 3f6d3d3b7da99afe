using System.Net;
using System.Text.Json;
using Alicia.Contracts.Messages;
using Alicia.Engine.Hosting;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Registry;

namespace Alicia.Web.Tests;

/// <summary>
/// Issue 14 goal 4: with <see cref="AliciaEngineOptions.BackgroundStart"/> a heavy service loads after the engine has
/// started; until it has, <c>/readyz</c> answers 503 naming it "starting" and the monitoring state has it degraded;
/// once loaded, both say ready. One whose load fails is reported as failed, and the engine runs on.
/// </summary>
public sealed class BackgroundReadinessTests
{
    private static readonly HttpClient Http = new();

    /// <summary>A heavy service whose load the test controls (the real one loads ONNX Runtime and Whisper models).</summary>
    private sealed class GatedService(string name, Task load) : IEngineService
    {
        public string Name => name;
        public bool StartsInBackground => true;
        public bool Started { get; private set; }

        public async Task StartAsync(AliciaEngine engine, CancellationToken cancellationToken)
        {
            await load.WaitAsync(cancellationToken);
            Started = true;
        }

        public ValueTask DisposeAsync() => default;
    }

    private static async Task<(HttpStatusCode Status, JsonElement Checks)> ReadyzAsync(Uri url)
    {
        HttpResponseMessage response = await Http.GetAsync(new Uri(url, "readyz"));
        using JsonDocument body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, body.RootElement.GetProperty("checks").Clone());
    }

    /// <summary>Completes when the monitoring state shows <paramref name="name"/> with <paramref name="status"/> (it judges every 100 ms).</summary>
    private static async Task ComponentAsync(MonitoringService monitoring, string name, HealthStatus status)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Check(SystemHealth health)
        {
            if (health.Components.Any(c => c.Name == name && c.Status == status)) seen.TrySetResult();
        }
        monitoring.Changed += Check;
        try
        {
            Check(monitoring.Current);
            await seen.Task.WaitAsync(Waits.Long);
        }
        finally
        {
            monitoring.Changed -= Check;
        }
    }

    [Fact]
    public async Task A_service_loading_in_the_background_is_reported_starting_until_it_is_loaded()
    {
        var load = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var heavy = new GatedService("heavy-models", load.Task);
        WebService web = null!;
        MonitoringService monitoring = null!;
        await using TestEngine test = await TestEngine.StartAsync(o => o.BackgroundStart = true, e => e
            .AddService(new RegistryService())
            .AddService(monitoring = new MonitoringService(new MonitoringOptions { EvaluationInterval = TimeSpan.FromMilliseconds(100) }))
            .AddService(web = new WebService(new WebOptions { Port = 0 }))
            .AddService(heavy));

        // The engine (broker, registry, web) is up while the heavy service still loads.
        Assert.False(heavy.Started);
        Assert.False(test.Engine.Ready.IsCompleted);
        (HttpStatusCode status, JsonElement checks) = await ReadyzAsync(web.Url!);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("starting", checks.GetProperty("heavy-models").GetString());
        Assert.Equal("ok", checks.GetProperty("broker").GetString());
        await ComponentAsync(monitoring, "heavy-models", HealthStatus.Degraded);

        load.SetResult();
        await test.Engine.Ready.WaitAsync(Waits.Long);
        Assert.True(heavy.Started);
        (status, checks) = await ReadyzAsync(web.Url!);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.False(checks.TryGetProperty("heavy-models", out _));
        await ComponentAsync(monitoring, "heavy-models", HealthStatus.Healthy);
    }

    [Fact]
    public async Task A_background_service_that_fails_to_load_is_reported_failed_and_the_engine_runs_on()
    {
        var heavy = new GatedService("broken-models", Task.FromException(new InvalidDataException("model file is corrupt")));
        WebService web = null!;
        await using TestEngine test = await TestEngine.StartAsync(o => o.BackgroundStart = true, e => e
            .AddService(new RegistryService())
            .AddService(new MonitoringService(new MonitoringOptions { EvaluationInterval = TimeSpan.FromMilliseconds(100) }))
            .AddService(web = new WebService(new WebOptions { Port = 0 }))
            .AddService(heavy));

        await Assert.ThrowsAsync<AggregateException>(() => test.Engine.Ready.WaitAsync(Waits.Long));
        (HttpStatusCode status, JsonElement checks) = await ReadyzAsync(web.Url!);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("failed: model file is corrupt", checks.GetProperty("broken-models").GetString());
        Assert.True(test.Engine.Bus.IsConnected);
    }
}
