using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Security;

namespace Alicia.TestSupport;

/// <summary>
/// An <see cref="AliciaEngine"/> as the tests run it: its embedded broker on a free loopback port, its keys and
/// data in a temporary directory, and signed bus clients whose keys it trusts (they are written to its key
/// directory). Disposing stops the engine and removes the directory unless the caller passed its own.
/// </summary>
public sealed class TestEngine : IAsyncDisposable
{
    private readonly Action<AliciaEngineOptions>? _configure;
    private readonly Action<AliciaEngine>? _services;
    private readonly TimeProvider? _clock;
    private readonly bool _ownsDirectory;

    private TestEngine(TempDirectory directory, bool ownsDirectory, Action<AliciaEngineOptions>? configure, Action<AliciaEngine>? services, TimeProvider? clock)
    {
        Directory = directory;
        _ownsDirectory = ownsDirectory;
        _configure = configure;
        _services = services;
        _clock = clock;
    }

    /// <summary>
    /// Starts an engine. <paramref name="configure"/> adjusts the options (keys and data in <paramref name="directory"/>,
    /// broker on port 0); <paramref name="services"/> adds services to the engine before it starts. Both run again
    /// on <see cref="RestartAsync"/>. Without <paramref name="directory"/>, a temporary one is made and removed.
    /// </summary>
    public static async Task<TestEngine> StartAsync(Action<AliciaEngineOptions>? configure = null, Action<AliciaEngine>? services = null,
        TimeProvider? clock = null, TempDirectory? directory = null)
    {
        var engine = new TestEngine(directory ?? new TempDirectory("alicia-engine"), directory is null, configure, services, clock);
        try
        {
            engine.Engine = await engine.StartEngineAsync();
            return engine;
        }
        catch
        {
            if (engine._ownsDirectory) engine.Directory.Dispose();
            throw;
        }
    }

    public TempDirectory Directory { get; }

    public AliciaEngine Engine { get; private set; } = null!;

    /// <summary>The embedded broker's TCP endpoint, as clients outside the engine reach it.</summary>
    public BrokerEndpoint Endpoint => Engine.ClientEndpoint ?? throw new InvalidOperationException("the engine has no client endpoint");

    public int Port => Endpoint.Port;

    /// <summary>The options an engine on <paramref name="directory"/> starts with before the caller adjusts them.</summary>
    public static AliciaEngineOptions DefaultOptions(TempDirectory directory) => new()
    {
        KeyDirectory = directory.Keys,
        DataDirectory = directory.Data,
        Broker = new EmbeddedBrokerOptions { Port = 0 },
    };

    /// <summary>The signing identity <paramref name="name"/> from the engine's key directory, created there (and so trusted) if new.</summary>
    public SigningIdentity Identity(string name) => Engine.Keys.Load(name, createIfMissing: true);

    /// <summary>A verifier that trusts what the engine trusts (its key directory), with its own replay filter and metrics.</summary>
    public EnvelopeVerifier Verifier() => new(new TrustStore(Engine.Keys), metrics: new BusMetrics());

    /// <summary>A signed bus client over TCP as <paramref name="name"/>, whose key the engine trusts.</summary>
    public Task<AliciaBus> ClientAsync(string name, BusOptions? options = null) => AliciaBus.ConnectAsync(Endpoint, Identity(name), Verifier(), options);

    /// <summary>Stops the engine and starts a new one on the same directory, options and services (services made anew).</summary>
    public async Task RestartAsync()
    {
        await Engine.DisposeAsync();
        Engine = await StartEngineAsync();
    }

    private async Task<AliciaEngine> StartEngineAsync()
    {
        AliciaEngineOptions options = DefaultOptions(Directory);
        _configure?.Invoke(options);
        var engine = new AliciaEngine(options, clock: _clock);
        try
        {
            _services?.Invoke(engine);
            await engine.StartAsync();
            return engine;
        }
        catch
        {
            await engine.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Engine is not null) await Engine.DisposeAsync();
        if (_ownsDirectory) Directory.Dispose();
    }
}
