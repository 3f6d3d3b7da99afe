using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security.Identity;
using Alicia.HomeAssistant;
using Alicia.Host.Configuration;
using Alicia.Host.Logging;
using Alicia.Tools;
using Alicia.Voice;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Alicia.Host.Commands;

/// <summary><c>alicia run</c>: the engine as a Generic Host application until SIGINT or SIGTERM (systemd-aware).</summary>
internal static class RunCommand
{
    public static async Task<int> ExecuteAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var tokens = args.ToList();
        LogLevel level = Cli.TakeFlag(tokens, "--verbose") ? LogLevel.Debug : LogLevel.Information;
        LoadedConfiguration configuration = ConfigurationLoader.LoadAll(tokens);
        AliciaEngineOptions options = configuration.Engine;

        using IHost host = BuildHost(configuration, level);
        AliciaEngine engine = host.Services.GetRequiredService<AliciaEngine>();
        try
        {
            await host.StartAsync().ConfigureAwait(false);
        }
        catch (OptionsValidationException e)
        {
            stderr.WriteLine($"alicia: configuration error: {e.Message}");
            return Cli.Usage;
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
        catch (Exception e) when (!string.IsNullOrWhiteSpace(options.BrokerUrl) && e is MQTTnet.Exceptions.MqttCommunicationException or System.Net.Sockets.SocketException or TimeoutException)
        {
            stderr.WriteLine($"alicia: cannot reach the broker {options.BrokerUrl}: {e.Message}");
            return Cli.Failed;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The host has logged it with its stack trace; the summary names what failed.
            stderr.WriteLine($"alicia: the engine failed to start: {e.Message}");
            return Cli.Failed;
        }

        string tlsToo = engine.Broker is { TlsEndPoint: { } tls } ? $" and mqtts://{EmbeddedBroker.Format(tls)} (TLS 1.3, client certificates)" : "";
        string where = engine.Broker is { TcpEndPoint: { } tcp }
            ? $"embedded MQTT 5 broker on mqtt://{EmbeddedBroker.Format(tcp)}{tlsToo}"
            : engine.Broker is not null ? "embedded MQTT 5 broker (in-process only, TCP off)" : $"external broker {engine.ClientEndpoint}";
        stdout.WriteLine($"alicia: engine '{engine.Name}' running; {where}; keys in {engine.Keys.Path}. Ctrl+C stops.");
        stdout.Flush();

        await host.WaitForShutdownAsync().ConfigureAwait(false);
        stdout.WriteLine("alicia: stopping");
        return Cli.Ok;
    }

    /// <summary>The composition of <c>alicia run</c>: every capability the engine ships, through the Generic Host.</summary>
    internal static IHost BuildHost(LoadedConfiguration configuration, LogLevel level)
    {
        AliciaEngineOptions options = configuration.Engine;
        HostApplicationBuilder builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.AddAliciaConsole(level);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        // Under systemd: sd_notify readiness once started, journal-friendly log lines; elsewhere nothing changes.
        builder.Services.AddSystemd();
        builder.Services.AddMetrics();
        builder.Services.AddSingleton(TimeProvider.System);

        // Bound again from the same configuration, inside the options pipeline (validated when the host starts).
        IAliciaBuilder alicia = builder.Services.AddAlicia(o => ConfigurationLoader.BindEngine(configuration.Source, o));
        // Provisioned identities when there is a CA or a TLS listener (a fresh install has neither).
        if (options.Broker.TlsPort > 0 || CertificateAuthority.Exists(options.DataDirectory)) alicia.AddIdentities();
        alicia.AddLocalTools()
            .AddGateway()
            .AddRegistry()
            .AddHomeAssistant()
            .AddVoice(v => ConfigurationLoader.BindVoice(configuration.Source, v));
        return builder.Build();
    }
}
