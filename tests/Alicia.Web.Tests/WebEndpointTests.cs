using System.Net;
using System.Text.Json;

namespace Alicia.Web.Tests;

public sealed class WebEndpointTests : IClassFixture<ObservedEngine>
{
    private readonly ObservedEngine _engine;
    private static readonly HttpClient Http = new();

    public WebEndpointTests(ObservedEngine engine) => _engine = engine;

    [Fact]
    public async Task Liveness_and_readiness_answer_for_supervisors()
    {
        HttpResponseMessage live = await Http.GetAsync(new Uri(_engine.Url, "healthz"));
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("ok\n", await live.Content.ReadAsStringAsync());

        HttpResponseMessage ready = await Http.GetAsync(new Uri(_engine.Url, "readyz"));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using JsonDocument body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.True(body.RootElement.GetProperty("ready").GetBoolean());
        Assert.Equal("ok", body.RootElement.GetProperty("checks").GetProperty("broker").GetString());
        Assert.StartsWith("ok (", body.RootElement.GetProperty("checks").GetProperty("registry").GetString());
    }

    [Fact]
    public async Task Metrics_scrape_as_well_formed_prometheus_text_with_the_engine_families()
    {
        await using var device = await _engine.DeviceAsync("metrics-bulb");
        string text = await Http.GetStringAsync(new Uri(_engine.Url, "metrics"));
        PrometheusText scrape = PrometheusText.Parse(text);

        Assert.Contains(scrape.Samples, s => s.Name == "alicia_bus_messages_published_total" && s.Value >= 1);
        Assert.Contains(scrape.Samples, s => s.Name == "alicia_bus_messages_accepted_total" && s.Value >= 1);
        // Other engines of this test process count into meters of the same names: presence and type, not their values, are this engine's.
        Assert.Contains(scrape.Samples, s => s.Name == "alicia_registry_devices");
        Assert.Contains(scrape.Samples, s => s.Name == "alicia_broker_connections" && s.Value >= 1);
        Assert.Contains(scrape.Samples, s => s.Name == "alicia_health_components" && s.Labels["kind"] == "engine" && s.Labels["status"] == "healthy");
        Assert.Equal("counter", scrape.Types["alicia_bus_messages_published_total"]);
        Assert.Equal("gauge", scrape.Types["alicia_registry_devices"]);
    }

    [Fact]
    public async Task The_dashboard_and_its_assets_are_served_from_the_assembly()
    {
        string page = await Http.GetStringAsync(_engine.Url);
        Assert.Contains("<script src=\"dashboard.js\"></script>", page);
        Assert.DoesNotContain("https://", page);
        Assert.Contains("new EventSource", await Http.GetStringAsync(new Uri(_engine.Url, "dashboard.js")));
        HttpResponseMessage css = await Http.GetAsync(new Uri(_engine.Url, "dashboard.css"));
        Assert.Equal("text/css", css.Content.Headers.ContentType?.MediaType);
    }
}

public sealed class WebTokenTests : IClassFixture<WebTokenTests.TokenEngine>
{
    public sealed class TokenEngine() : IAsyncLifetime
    {
        public ObservedEngine Engine { get; } = new() { Token = "s3cret-token" };
        public Task InitializeAsync() => Engine.InitializeAsync();
        public Task DisposeAsync() => Engine.DisposeAsync();
    }

    private readonly ObservedEngine _engine;
    private static readonly HttpClient Http = new();

    public WebTokenTests(TokenEngine engine) => _engine = engine.Engine;

    [Fact]
    public async Task With_a_token_everything_but_liveness_needs_it()
    {
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(new Uri(_engine.Url, "healthz"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Http.GetAsync(new Uri(_engine.Url, "metrics"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Http.GetAsync(new Uri(_engine.Url, "?token=wrong"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(new Uri(_engine.Url, "?token=s3cret-token"))).StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_engine.Url, "metrics"));
        request.Headers.Authorization = new("Bearer", "s3cret-token");
        Assert.Equal(HttpStatusCode.OK, (await Http.SendAsync(request)).StatusCode);
    }
}

public sealed class WebPortTests
{
    [Fact]
    public async Task The_default_port_taken_makes_the_dashboard_take_a_free_one_but_an_explicit_port_taken_fails()
    {
        // Held by this test, or already by someone else: either way it is taken.
        var holder = new System.Net.Sockets.TcpListener(IPAddress.Loopback, Alicia.Web.WebOptions.DefaultPort);
        try { holder.Start(); } catch (System.Net.Sockets.SocketException) { }
        try
        {
            WebService web = new(new WebOptions());
            await using (TestEngine test = await TestEngine.StartAsync(services: e => e.AddService(new Alicia.Engine.Monitoring.MonitoringService()).AddService(web)))
            {
                Assert.NotNull(web.Url);
                Assert.NotEqual(WebOptions.DefaultPort, web.Url!.Port);
                Assert.Equal("ok\n", await new HttpClient().GetStringAsync(new Uri(web.Url, "healthz")));
            }
            await Assert.ThrowsAnyAsync<IOException>(() => TestEngine.StartAsync(services: e => e
                .AddService(new Alicia.Engine.Monitoring.MonitoringService()).AddService(new WebService(new WebOptions { Port = WebOptions.DefaultPort }))));
        }
        finally
        {
            holder.Stop();
        }
    }
}
