using System.Runtime.InteropServices;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Host.Configuration;
using Alicia.Host.Logging;
using Microsoft.Extensions.Logging;

namespace Alicia.Host.Commands;

/// <summary><c>alicia run</c>: the engine until SIGINT or SIGTERM.</summary>
internal static class RunCommand
{
    public static async Task<int> ExecuteAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var tokens = args.ToList();
        LogLevel level = Cli.TakeFlag(tokens, "--verbose") ? LogLevel.Debug : LogLevel.Information;
        AliciaEngineOptions options = ConfigurationLoader.Load(tokens);

        using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(level).AddProvider(new ConsoleLoggerProvider(level)));
        using var stop = new CancellationTokenSource();
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

        // Declared first so it is disposed last: the audit log closes after the engine has stopped.
        await using var services = new EngineServices();
        await using var engine = new AliciaEngine(options, loggerFactory);
        services.AddDefaults(engine, options);
        try
        {
            await engine.StartAsync(stop.Token).ConfigureAwait(false);
        }
        catch (FileNotFoundException e)
        {
            stderr.WriteLine($"alicia: {e.Message}");
            return Cli.Failed;
        }
        catch (BrokerPortInUseException e)
        {
            stderr.WriteLine($"alicia: cannot start the embedded broker: {e.Message}");
            return Cli.Failed;
        }
        catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException or System.Net.Sockets.SocketException or TimeoutException)
        {
            stderr.WriteLine($"alicia: cannot reach the broker {options.BrokerUrl}: {e.Message}");
            return Cli.Failed;
        }

        string tlsToo = engine.Broker is { TlsEndPoint: { } tls } ? $" and mqtts://{EmbeddedBroker.Format(tls)} (TLS 1.3, client certificates)" : "";
        string where = engine.Broker is { TcpEndPoint: { } tcp }
            ? $"embedded MQTT 5 broker on mqtt://{EmbeddedBroker.Format(tcp)}{tlsToo}"
            : engine.Broker is not null ? "embedded MQTT 5 broker (in-process only, TCP off)" : $"external broker {engine.ClientEndpoint}";
        stdout.WriteLine($"alicia: engine '{engine.Name}' running; {where}; keys in {engine.Keys.Path}. Ctrl+C stops.");
        stdout.Flush();

        try { await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        stdout.WriteLine("alicia: stopping");
        return Cli.Ok;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true; // we stop cleanly ourselves
            stop.Cancel();
        }
    }
}
