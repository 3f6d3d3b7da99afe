using Alicia.Engine.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Alicia.Integration.Tests;

/// <summary>
/// <c>AddAlicia()</c> constructs the services that cannot guard the broker (sealed, not an <see cref="IBrokerExtension"/>)
/// only once the broker listens, and the broker's guards before it starts; the start order stays the registration
/// order within what <see cref="IEngineService.StartsAfter"/> allows.
/// </summary>
public sealed class DeferredServiceTests : IDisposable
{
    private readonly TempDirectory _dir = new("alicia-deferred");

    public void Dispose() => _dir.Dispose();

    /// <summary>Notes, when constructed, whether the engine's broker listened already, and when it started.</summary>
    private abstract class Noting(string name, AliciaEngine engine, List<string> log) : IEngineService
    {
        public bool BrokerListeningWhenConstructed { get; } = engine.Broker?.TcpEndPoint is not null;

        public string Name => name;

        public Task StartAsync(AliciaEngine engine, CancellationToken cancellationToken)
        {
            lock (log) log.Add(name);
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    // AddService keeps one instance per type: two types.
    private sealed class First(AliciaEngine engine, List<string> log) : Noting("first", engine, log);

    private sealed class Last(AliciaEngine engine, List<string> log) : Noting("last", engine, log);

    /// <summary>Not sealed: a subclass could shape the broker, so it is constructed with the guards.</summary>
    private class Open(List<string> log) : IEngineService
    {
        public string Name => "open";

        public Task StartAsync(AliciaEngine engine, CancellationToken cancellationToken)
        {
            lock (log) log.Add(Name);
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Services_that_cannot_guard_the_broker_are_constructed_once_it_listens_and_start_in_registration_order()
    {
        var started = new List<string>();
        bool openConstructed = false;
        HostApplicationBuilder builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddMetrics();
        builder.Services.AddAlicia(o =>
            {
                o.KeyDirectory = _dir.Keys;
                o.DataDirectory = _dir.Data;
                o.Broker.Port = 0;
            })
            .AddService(sp => new First(sp.GetRequiredService<AliciaEngine>(), started))
            .AddService(sp =>
            {
                openConstructed = true;
                return new Open(started);
            })
            .AddGateway()
            .AddService(sp => new Last(sp.GetRequiredService<AliciaEngine>(), started));
        using IHost host = builder.Build();

        // Resolving the engine constructs what guards the broker (and what is not sealed), nothing else: the
        // deferred services ask for the engine itself, which would be a cycle if they were constructed now.
        AliciaEngine engine = host.Services.GetRequiredService<AliciaEngine>();
        Assert.True(openConstructed);
        Assert.Contains(engine.Services, s => s.Name == "security-gateway");
        Assert.DoesNotContain(engine.Services, s => s is Noting);

        await host.StartAsync();
        try
        {
            Noting[] deferred = [.. engine.Services.OfType<Noting>()];
            Assert.Equal(["first", "last"], deferred.Select(s => s.Name));
            Assert.All(deferred, s => Assert.True(s.BrokerListeningWhenConstructed, $"{s.Name} was constructed before the broker listened"));
            lock (started) Assert.Equal(["first", "open", "last"], started);
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
