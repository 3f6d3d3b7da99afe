using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace BusWorker;

/// <summary>
/// Runs once the engine has started (hosted services start in the order they were added): the engine's own bus
/// subscribes to <see cref="Greeting"/>s, a second client with its own Ed25519 key publishes one over the broker's
/// TCP port, and a client whose key the engine does not trust tries too. Then it stops the application: exit code
/// 0 when the trusted greeting arrived verified and the stranger's was refused, 1 otherwise.
/// </summary>
internal sealed class GreetingExchange(AliciaEngine engine, IHostApplicationLifetime lifetime, ILogger<GreetingExchange> logger) : BackgroundService
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await ExchangeAsync(stoppingToken);
            Console.WriteLine("bus-worker: greeting exchange passed; stopping");
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            logger.LogError(e, "bus-worker: the greeting exchange failed");
            Environment.ExitCode = 1;
        }
        finally
        {
            lifetime.StopApplication();
        }
    }

    private async Task ExchangeAsync(CancellationToken ct)
    {
        BrokerEndpoint endpoint = engine.ClientEndpoint ?? throw new InvalidOperationException("the embedded broker has no TCP listener");
        Console.WriteLine($"bus-worker: engine '{engine.Name}' running, embedded broker on {endpoint}, keys in {engine.Keys.Path}");

        // Handlers only ever see messages whose signature verified against a trusted key; refusals raise Rejected.
        var received = new TaskCompletionSource<BusMessage<Greeting>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var refused = new TaskCompletionSource<(string Topic, Verdict Verdict)>(TaskCreationOptions.RunContinuationsAsynchronously);
        engine.Bus.Rejected += (topic, verdict) =>
        {
            if (topic.StartsWith("alicia/samples/greetings/", StringComparison.Ordinal)) refused.TrySetResult((topic, verdict));
        };
        await using IAsyncDisposable subscription = await engine.Bus.SubscribeAsync<Greeting>((message, _) =>
        {
            received.TrySetResult(message);
            return ValueTask.CompletedTask;
        }, cancellationToken: ct);

        // A client with a key of its own in the engine's key directory: the engine trusts every public key there.
        using SigningIdentity greeter = engine.Keys.Load("greeter", createIfMissing: true);
        await using (AliciaBus client = await AliciaBus.ConnectAsync(endpoint, greeter, new EnvelopeVerifier(new TrustStore(engine.Keys)), cancellationToken: ct))
        {
            await client.PublishAsync(new Greeting { Text = "Hello, Alicia", SentAt = DateTimeOffset.UtcNow },
                new PublishOptions { Topic = Greeting.BuildTopic("world") }, ct);
        }
        BusMessage<Greeting> greeting = await received.Task.WaitAsync(Timeout, ct);
        Console.WriteLine($"received signed Greeting from {greeting.Source} on {greeting.Topic}: \"{greeting.Data.Text}\" (Ed25519 signature verified)");
        if (greeting.Source != greeter.Name) throw new InvalidOperationException($"the greeting came from '{greeting.Source}', not '{greeter.Name}'");

        // A client whose key is in no trusted directory: its greeting is refused before any handler sees it.
        using SigningIdentity stranger = SigningIdentity.Create("stranger");
        await using (AliciaBus client = await AliciaBus.ConnectAsync(endpoint, stranger, new EnvelopeVerifier(new TrustStore()), cancellationToken: ct))
        {
            await client.PublishAsync(new Greeting { Text = "Let me in", SentAt = DateTimeOffset.UtcNow },
                new PublishOptions { Topic = Greeting.BuildTopic("intruder") }, ct);
        }
        (string topic, Verdict verdict) = await refused.Task.WaitAsync(Timeout, ct);
        Console.WriteLine($"refused a Greeting on {topic}: {verdict}");
    }
}
