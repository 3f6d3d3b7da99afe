using System.Diagnostics.Metrics;
using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Registry;
using Alicia.Engine.Security;
using Alicia.Engine.Security.Gateway;
using Alicia.HomeAssistant;
using Alicia.Tools;
using Alicia.Voice;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Alicia.Integration.Tests;

/// <summary>The engine as an embedder composes it: <c>services.AddAlicia(...)</c> in a Generic Host.</summary>
public sealed class CompositionTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "alicia-composition-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); }
        catch (DirectoryNotFoundException) { }
    }

    private void Configure(AliciaEngineOptions o)
    {
        o.KeyDirectory = Path.Combine(_root, "keys");
        o.DataDirectory = Path.Combine(_root, "data");
        o.Broker.Port = 0;
        o.HeartbeatInterval = TimeSpan.FromMilliseconds(200);
    }

    private static HostApplicationBuilder NewHost()
    {
        HostApplicationBuilder builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddMetrics();
        return builder;
    }

    private static async Task<AliciaBus> ClientAsync(AliciaEngine engine, string name, MessageSet? messages = null)
    {
        SigningIdentity identity = engine.Keys.Create(name); // the engine trusts its key directory
        var verifier = new EnvelopeVerifier(new TrustStore(engine.Keys), metrics: new BusMetrics());
        return await AliciaBus.ConnectAsync(engine.ClientEndpoint!, identity, verifier, messages: messages);
    }

    [Fact]
    public async Task The_full_composition_starts_in_dependency_order_serves_and_stops_through_the_host()
    {
        HostApplicationBuilder builder = NewHost();
        // Added in the "wrong" order on purpose: Home Assistant before the registry it needs, voice before the gateway.
        builder.Services.AddAlicia(Configure)
            .AddHomeAssistant()
            .AddVoice(v => v.Enabled = false)
            .AddLocalTools()
            .AddGateway()
            .AddRegistry();
        using IHost host = builder.Build();
        await host.StartAsync();
        AliciaEngine engine = host.Services.GetRequiredService<AliciaEngine>();

        string[] order = [.. engine.Services.Select(s => s.Name)];
        Assert.True(Array.IndexOf(order, "security-gateway") < Array.IndexOf(order, "registry"), string.Join(", ", order));
        Assert.True(Array.IndexOf(order, "registry") < Array.IndexOf(order, "home-assistant"), string.Join(", ", order));
        Assert.True(Array.IndexOf(order, "security-gateway") < Array.IndexOf(order, "voice"), string.Join(", ", order));
        Assert.Same(host.Services.GetRequiredService<RegistryService>(), engine.Services.OfType<RegistryService>().Single());
        Assert.True(engine.Bus.IsConnected);

        // The local CLI identity gets through the gateway and is answered.
        await using (AliciaBus cli = await LocalCliAsync(engine))
        {
            BusMessage<ApiResponse> pong = await cli.RequestAsync<ApiRequest, ApiResponse>(new ApiRequest { Operation = "ping" }, engine.Name, timeout: Waits.Long);
            Assert.Equal(200, pong.Data.Status);
        }

        await host.StopAsync();
        Assert.False(engine.Bus.IsConnected);
        Assert.True(File.Exists(Path.Combine(_root, "data", "audit.db")));
    }

    private static async Task<AliciaBus> LocalCliAsync(AliciaEngine engine)
    {
        SigningIdentity identity = engine.Keys.Load(LocalTools.Cli, createIfMissing: true);
        var verifier = new EnvelopeVerifier(new TrustStore(engine.Keys), metrics: new BusMetrics());
        var options = new BusOptions
        {
            ClientId = LocalTools.Cli + ":composition-test",
            Username = LocalTools.Cli,
            Password = System.Text.Encoding.UTF8.GetBytes(LocalTools.TryReadPassword(engine.Options.DataDirectory, LocalTools.Cli)!),
        };
        return await AliciaBus.ConnectAsync(engine.ClientEndpoint!, identity, verifier, options);
    }

    [Fact]
    public async Task No_service_writes_into_another_services_options()
    {
        HostApplicationBuilder builder = NewHost();
        builder.Services.AddAlicia(Configure).AddLocalTools().AddGateway().AddRegistry();
        using IHost host = builder.Build();
        await host.StartAsync();
        AliciaEngineOptions options = host.Services.GetRequiredService<IOptions<AliciaEngineOptions>>().Value;
        AliciaEngine engine = host.Services.GetRequiredService<AliciaEngine>();

        Assert.Null(options.Bus.Username);
        Assert.Null(options.Bus.Password);
        Assert.Empty(options.Security.TrustedAttesters);
        Assert.Equal(["alicia-cli"], options.Registry.Administrators);
        // What the engine needs it derives for itself.
        Assert.Contains(engine.Name, engine.VerifierOptions.TrustedAttesters);
        await host.StopAsync();
    }

    [Fact]
    public async Task Invalid_options_stop_the_host_at_start_naming_the_key()
    {
        HostApplicationBuilder builder = NewHost();
        builder.Services.AddAlicia(o => { Configure(o); o.Broker.Port = 70000; o.Security.MaxMessageBytes = 10; }).AddRegistry();
        using IHost host = builder.Build();

        OptionsValidationException e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Broker:Port: 70000", e.Message);
        Assert.Contains("Security:MaxMessageBytes", e.Message);
        Assert.False(File.Exists(Path.Combine(_root, "data", "registry.db")));
    }

    [Fact]
    public async Task Voice_options_are_validated_at_start_naming_the_key()
    {
        HostApplicationBuilder builder = NewHost();
        builder.Services.AddAlicia(Configure).AddVoice(v => { v.HangoverMs = 5; v.SpeculateAfterMs = 10; });
        using IHost host = builder.Build();

        OptionsValidationException e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Voice:HangoverMs", e.Message);
        Assert.Contains("Voice:SpeculateAfterMs", e.Message);
    }

    [Fact]
    public async Task The_engine_meters_come_from_the_hosts_meter_factory_and_health_leaves_the_heartbeat_sequence_alone()
    {
        HostApplicationBuilder builder = NewHost();
        builder.Services.AddAlicia(Configure);
        using IHost host = builder.Build();
        AliciaEngine engine = host.Services.GetRequiredService<AliciaEngine>();
        Assert.Same(host.Services.GetRequiredService<IMeterFactory>(), engine.Metrics.Meter.Scope);

        await host.StartAsync();
        await using AliciaBus watcher = await ClientAsync(engine, "watcher");
        var beats = new List<long>();
        var three = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IAsyncDisposable _ = await watcher.SubscribeAsync<ServiceHealth>((m, ct) =>
        {
            lock (beats)
            {
                if (m.Source != engine.Name) return default;
                // Health asked in between must not consume a sequence number.
                for (int i = 0; i < 5; i++) engine.Health();
                beats.Add(m.Data.Sequence);
                if (beats.Count == 3) three.TrySetResult();
            }
            return default;
        });
        await three.Within();
        lock (beats)
        {
            for (int i = 1; i < beats.Count; i++) Assert.Equal(beats[i - 1] + 1, beats[i]);
        }
        await host.StopAsync();
    }

    [Fact]
    public async Task An_embedders_message_type_is_dispatched_beside_alicias_and_refused_by_a_bus_that_does_not_know_it()
    {
        HostApplicationBuilder builder = NewHost();
        builder.Services.AddAlicia(Configure).AddMessages(AliciaMessageSet.Instance);
        using IHost host = builder.Build();
        await host.StartAsync();
        AliciaEngine engine = host.Services.GetRequiredService<AliciaEngine>();
        Assert.Contains(engine.Messages.Topics, t => t.Pattern == "alicia/integration/acme/greetings/{name}");

        var received = new TaskCompletionSource<BusMessage<Greeting>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using IAsyncDisposable sub = await engine.Bus.SubscribeAsync<Greeting>((m, ct) => { received.TrySetResult(m); return default; });

        // A client without the embedder's set refuses what it cannot dispatch.
        await using AliciaBus plain = await ClientAsync(engine, "plain-client");
        var refused = new TaskCompletionSource<Verdict>(TaskCreationOptions.RunContinuationsAsynchronously);
        plain.Rejected += (topic, verdict) => { if (topic.StartsWith("alicia/integration/acme/", StringComparison.Ordinal)) refused.TrySetResult(verdict); };
        await using IAsyncDisposable plainSub = await plain.SubscribeAsync<Greeting>((m, ct) => default);

        await using AliciaBus sender = await ClientAsync(engine, "greeter", MessageSet.Combine([AliciaMessageSet.Instance]));
        await sender.PublishAsync(new Greeting { Text = "hello", Count = 3 }, new PublishOptions { Topic = Greeting.BuildTopic("kitchen") });

        BusMessage<Greeting> got = await received.Within();
        Assert.Equal("hello", got.Data.Text);
        Assert.Equal(3, got.Data.Count);
        Assert.Equal("greeter", got.Source);
        Assert.Equal(Attestation.SourceSigned, got.Envelope.Attestation);
        Assert.Equal(RejectReason.UnknownTopic, (await refused.Within()).Reason);
        await host.StopAsync();
    }
}
