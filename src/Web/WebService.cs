using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Alicia.Engine.Hosting;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Registry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Alicia.Web;

/// <summary>
/// The engine's web host, an ASP.NET Core slim application started with the engine: <c>/healthz</c> (liveness),
/// <c>/readyz</c> (broker, registry and every service started), <c>/metrics</c> (the <c>Alicia.*</c> meters in
/// Prometheus text through OpenTelemetry, collected only when scraped), the dashboard at <c>/</c> and its event
/// stream at <c>/events</c>.
/// </summary>
public sealed class WebService : IEngineService
{
    private readonly WebOptions _options;
    private WebApplication? _app;
    private MeterProvider? _meters;
    private TracerProvider? _tracer;
    private DashboardFeed? _feed;
    private AliciaEngine? _engine;

    internal WebService(WebOptions options) => _options = options;

    public string Name => "web";

    public IReadOnlyList<Type> StartsAfter { get; } = [typeof(MonitoringService), typeof(RegistryService)];

    /// <summary>The address pages are served on (after start), e.g. <c>http://127.0.0.1:8080/</c>; null when disabled.</summary>
    public Uri? Url { get; private set; }

    internal DashboardFeed? Feed => _feed;

    public async Task StartAsync(AliciaEngine engine, CancellationToken cancellationToken)
    {
        if (!_options.Enabled) return;
        _engine = engine;
        IPAddress address = IPAddress.Parse(_options.Address);
        if (!IPAddress.IsLoopback(address) && string.IsNullOrEmpty(_options.Token))
            throw new InvalidOperationException($"Web:Address {_options.Address} is not loopback: set Web:Token so the dashboard and metrics are not open to the network");
        MonitoringService monitoring = engine.Services.OfType<MonitoringService>().FirstOrDefault()
            ?? throw new InvalidOperationException("the web host needs the monitoring service (AddWeb adds it)");

        // Pull-based: the meters' measurements are aggregated as they happen, and exported only when /metrics is asked.
        _meters = Sdk.CreateMeterProviderBuilder().AddMeter("Alicia.*").AddPrometheusExporter().Build();
        _feed = new DashboardFeed(engine, monitoring);
        if (!string.IsNullOrEmpty(_options.OtlpEndpoint))
        {
            // Batched: spans leave in the background, never on the message path.
            _tracer = Sdk.CreateTracerProviderBuilder()
                .ConfigureResource(r => r.AddService(serviceName: "alicia", serviceInstanceId: engine.Name))
                .AddSource("Alicia.*")
                .AddOtlpExporter(o => { o.Endpoint = new Uri(_options.OtlpEndpoint); o.Protocol = OtlpExportProtocol.HttpProtobuf; })
                .Build();
        }
        WebApplication app = Build(engine, address, _options.Port ?? WebOptions.DefaultPort);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e) when (_options.Port is null && IsAddressInUse(e))
        {
            // The default port is taken (another engine, another program): any free port will do, and the URL says which.
            await app.DisposeAsync().ConfigureAwait(false);
            engine.LoggerFactory.CreateLogger<WebService>().LogWarning("Port {Port} is in use: the dashboard takes a free port", WebOptions.DefaultPort);
            app = Build(engine, address, 0);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        _app = app;
        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Url = new Uri(bound.EndsWith('/') ? bound : bound + "/");
        engine.LoggerFactory.CreateLogger<WebService>().LogInformation("Dashboard on {Url} (health /healthz /readyz, Prometheus /metrics)", Url);
    }

    private static bool IsAddressInUse(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
            if (e is Microsoft.AspNetCore.Connections.AddressInUseException or SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse }) return true;
        return false;
    }

    private WebApplication Build(AliciaEngine engine, IPAddress address, int port)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(engine.LoggerFactory);
        // The engine's host owns the process (signals, systemd): this inner application must not listen for SIGTERM itself.
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, EngineOwnedLifetime>();
        builder.WebHost.ConfigureKestrel(k => k.Listen(address, port));
        WebApplication app = builder.Build();
        if (!string.IsNullOrEmpty(_options.Token)) app.Use(RequireToken);
        app.UseOpenTelemetryPrometheusScrapingEndpoint(_meters, predicate: null, path: "/metrics", configureBranchedPipeline: null, optionsName: null);
        app.MapGet("/healthz", (RequestDelegate)(context => context.Response.WriteAsync("ok\n", context.RequestAborted)));
        app.MapGet("/readyz", (RequestDelegate)ReadyAsync);
        app.MapGet("/api/state", (RequestDelegate)(context => WriteJsonAsync(context, JsonSerializer.Serialize(_feed!.Snapshot(), DashboardJsonContext.Default.DashboardSnapshot))));
        app.MapGet("/events", (RequestDelegate)EventsAsync);
        app.MapGet("/", (RequestDelegate)(context => AssetAsync(context, "index.html", "text/html; charset=utf-8")));
        app.MapGet("/dashboard.js", (RequestDelegate)(context => AssetAsync(context, "dashboard.js", "text/javascript; charset=utf-8")));
        app.MapGet("/dashboard.css", (RequestDelegate)(context => AssetAsync(context, "dashboard.css", "text/css; charset=utf-8")));
        return app;
    }

    private async Task RequireToken(HttpContext context, Func<Task> next)
    {
        if (context.Request.Path == "/healthz") { await next().ConfigureAwait(false); return; }
        string expected = _options.Token;
        string? given = context.Request.Headers.Authorization.ToString() is { Length: > 7 } header && header.StartsWith("Bearer ", StringComparison.Ordinal)
            ? header[7..] : context.Request.Query["token"].ToString();
        if (given is null || !System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.UTF8.GetBytes(given), System.Text.Encoding.UTF8.GetBytes(expected)))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }
        await next().ConfigureAwait(false);
    }

    /// <summary>Ready when the bus is connected, the registry has loaded and every service (models included) has started.</summary>
    private Task ReadyAsync(HttpContext context)
    {
        AliciaEngine engine = _engine!;
        var checks = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["broker"] = engine.Bus.IsConnected ? "ok" : "disconnected",
        };
        RegistryService? registry = engine.Services.OfType<RegistryService>().FirstOrDefault();
        checks["registry"] = registry is null ? "absent" : $"ok ({registry.Registry.Count} devices)";
        // Heavy services (the voice models) may still be loading in the background (Engine:BackgroundStart, what alicia run does).
        IReadOnlyList<IEngineService> starting = engine.StartingServices;
        IReadOnlyList<(IEngineService Service, Exception Error)> failed = engine.FailedServices;
        foreach (IEngineService service in starting) checks[service.Name] = "starting";
        foreach ((IEngineService service, Exception error) in failed) checks[service.Name] = $"failed: {error.Message}";
        checks["services"] = starting.Count == 0 && failed.Count == 0 ? $"ok ({engine.Services.Count} started)"
            : $"{engine.Services.Count - starting.Count - failed.Count} of {engine.Services.Count} started";
        bool ready = engine.Bus.IsConnected && starting.Count == 0 && failed.Count == 0;
        context.Response.StatusCode = ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        return WriteJsonAsync(context, JsonSerializer.Serialize(new ReadinessView(ready, checks), DashboardJsonContext.Default.ReadinessView));
    }

    private async Task EventsAsync(HttpContext context)
    {
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        // Proxies must not buffer the stream.
        context.Response.Headers["X-Accel-Buffering"] = "no";
        await _feed!.StreamAsync(context.Response.Body, () => context.Response.Body.FlushAsync(context.RequestAborted), context.RequestAborted).ConfigureAwait(false);
    }

    private static Task WriteJsonAsync(HttpContext context, string json)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(json, context.RequestAborted);
    }

    private static async Task AssetAsync(HttpContext context, string name, string contentType)
    {
        using Stream? asset = typeof(WebService).Assembly.GetManifestResourceStream($"Alicia.Web.Dashboard.{name}");
        if (asset is null) { context.Response.StatusCode = StatusCodes.Status404NotFound; return; }
        context.Response.ContentType = contentType;
        await asset.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        _feed?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync().ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
        _meters?.Dispose();
        _tracer?.Dispose(); // flushes the spans still in the batch
    }

    /// <summary>No console or signal handling: the web host starts and stops when the engine does.</summary>
    private sealed class EngineOwnedLifetime : Microsoft.Extensions.Hosting.IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
