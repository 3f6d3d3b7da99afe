using Alicia.Assistant;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Security.Audit;
using Alicia.Engine.Security.Identity;
using Alicia.HomeAssistant;
using Alicia.Host.Configuration;
using Alicia.Host.Logging;
using Alicia.Tools;
using Alicia.Voice;
using Alicia.Web;
using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Alicia.Host.Commands;

/// <summary><c>alicia run</c>: the engine as a Generic Host application until SIGINT or SIGTERM (systemd-aware).</summary>
internal static class RunCommand
{
    public static Command Create(CliContext cli)
    {
        var command = new Command("run", "Start the engine with its embedded MQTT 5 broker (or on an external broker, --broker URL) until Ctrl+C or SIGTERM");
        cli.ReadsConfiguration(command, endpoint: true);
        command.Add(cli.Options.Listen);
        command.Add(cli.Options.NoTcp);
        command.Add(cli.Options.Name);
        command.Add(cli.Options.Verbose);
        command.SetAction((result, cancellationToken) =>
        {
            StartupTrace.Mark("command line parsed");
            LoadedConfiguration configuration = cli.LoadAll(result);
            StartupTrace.Mark("configuration loaded");
            bool trace = bool.TryParse(configuration.Source[StartupTrace.Key], out bool on) && on;
            return ExecuteAsync(cli, configuration, result.GetValue(cli.Options.Verbose) ? LogLevel.Debug : LogLevel.Information, trace, cancellationToken);
        });
        return command;
    }

    /// <summary>How long a probe waits for a running engine's signed answer before concluding there is none.</summary>
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    private static async Task<int> ExecuteAsync(CliContext cli, LoadedConfiguration configuration, LogLevel level, bool trace, CancellationToken cancellationToken)
    {
        TextWriter stdout = cli.Out, stderr = cli.Err;
        AliciaEngineOptions options = configuration.Engine;

        // On an external broker, an engine with our name already there would lose its session to us (same client id): refuse.
        if (!string.IsNullOrWhiteSpace(options.BrokerUrl)
            && await EngineProbe.FindAsync(options, ProbeTimeout, cancellationToken).ConfigureAwait(false) is { } answer)
        {
            stderr.WriteLine($"alicia: an Alicia engine named '{options.Name}' is already running on {options.BrokerUrl} (it answered a signed ping: {answer}). " +
                "A second engine with the same name would take over its MQTT session (client id " + (options.Bus.ClientId ?? options.Name) + "). " +
                "Stop that engine first, or give this one its own identity (--name NAME).");
            return Cli.Failed;
        }

        // The broker and the core services first; the voice models load in the background (reported by /readyz).
        AliciaServiceCollectionExtensions.CompositionTrace = StartupTrace.Mark;
        // On a first start the gateway's audit log (a SQLite database) is created with several fsyncs: that happens on
        // another thread while the host is built, and the gateway takes it, before the broker starts. An existing one
        // opens in a few ms, less than a thread hop may cost on a busy machine: the gateway opens it as usual.
        string auditPath = Path.Combine(options.DataDirectory, "audit.db");
        Task<AuditLog>? auditLog = options.Gateway.Enabled && string.IsNullOrWhiteSpace(options.BrokerUrl) && !File.Exists(auditPath)
            ? Task.Run(() => new AuditLog(auditPath), cancellationToken)
            : null;
        using IHost host = BuildHost(configuration, level, backgroundStart: true, auditLog);
        StartupTrace.Mark("host built");
        AliciaEngine engine = host.Services.GetRequiredService<AliciaEngine>();
        StartupTrace.Mark("engine and services constructed");
        engine.StartupTrace = StartupTrace.Mark;
        try
        {
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
            StartupTrace.Mark("host started");
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
            // Another Alicia on that port? Then the advice to use it as an external broker would be wrong: say so.
            if (await EngineProbe.FindAsync(options, ProbeTimeout, cancellationToken).ConfigureAwait(false) is { } running)
            {
                stderr.WriteLine($"alicia: another Alicia engine is already running on mqtt://{e.Address}:{e.Port} (engine '{options.Name}' answered a signed ping: {running}). " +
                    "Stop it first, or run this one beside it with another port, name and data directory (--port N --name NAME --data DIR); " +
                    "do not point this engine at it with --broker under the same name: it would take over the running engine's MQTT session.");
                return Cli.Failed;
            }
            stderr.WriteLine($"alicia: cannot start the embedded broker: {e.Message}");
            return Cli.Failed;
        }
        catch (Exception e) when (!string.IsNullOrWhiteSpace(options.BrokerUrl) && e is MQTTnet.Exceptions.MqttCommunicationException or System.Net.Sockets.SocketException or TimeoutException or InvalidOperationException)
        {
            stderr.WriteLine($"alicia: cannot connect to the broker {options.BrokerUrl}: {EngineProbe.Describe(e)}");
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
        // Before the 'running' line: whoever waits for that line finds the dashboard's already written.
        if (engine.Services.OfType<WebService>().FirstOrDefault() is { Url: { } dashboard })
            stdout.WriteLine($"alicia: dashboard on {dashboard} (health {dashboard}healthz {dashboard}readyz, Prometheus {dashboard}metrics)");
        IReadOnlyList<IEngineService> loading = engine.StartingServices;
        stdout.WriteLine($"alicia: broker ready {StartupTrace.MillisecondsSinceMain(engine.BrokerReadyAt):F1} ms after start, core services {StartupTrace.MillisecondsSinceMain(DateTimeOffset.UtcNow):F1} ms" +
            (loading.Count == 0 ? "" : $" ({string.Join(", ", loading.Select(s => s.Name))} loading in the background)"));
        stdout.WriteLine($"alicia: engine '{engine.Name}' running; {where}; keys in {engine.Keys.Path}, data in {Path.GetFullPath(options.DataDirectory)}. Ctrl+C stops.");
        stdout.Flush();
        StartupTrace.Mark("running");
        if (trace) StartupTrace.Flush(stderr);
        if (loading.Count > 0) _ = ReportReadyAsync(engine, stdout, trace ? stderr : null);

        await host.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
        lock (stdout) stdout.WriteLine("alicia: stopping");
        return Cli.Ok;
    }

    /// <summary>Says when the services loading in the background are ready (or which failed: the engine runs on without them).</summary>
    private static async Task ReportReadyAsync(AliciaEngine engine, TextWriter stdout, TextWriter? trace)
    {
        string line;
        try
        {
            await engine.Ready.ConfigureAwait(false);
            line = $"alicia: every service ready {StartupTrace.MillisecondsSinceMain(DateTimeOffset.UtcNow):F1} ms after start";
            StartupTrace.Mark("every service ready");
            if (trace is not null) StartupTrace.Flush(trace);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        catch (Exception)
        {
            line = $"alicia: started without {string.Join(", ", engine.FailedServices.Select(f => $"'{f.Service.Name}' ({f.Error.Message})"))}";
        }
        lock (stdout)
        {
            stdout.WriteLine(line);
            stdout.Flush();
        }
    }

    /// <summary>
    /// The composition of <c>alicia run</c>: every capability the engine ships, through the Generic Host. With
    /// <paramref name="backgroundStart"/>, heavy services (voice models) start in the background unless the configuration says otherwise (BackgroundStart).
    /// </summary>
    internal static IHost BuildHost(LoadedConfiguration configuration, LogLevel level, bool backgroundStart = false, Task<AuditLog>? auditLog = null)
    {
        AliciaEngineOptions options = configuration.Engine;
        HostApplicationBuilder builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        StartupTrace.Mark("build: application builder");
        builder.Logging.AddAliciaConsole(level);
        // A failed start is reported by ExecuteAsync in one line (or thrown); the host's own error entry would repeat it with a stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        // Under systemd: sd_notify readiness once started, journal-friendly log lines; elsewhere nothing changes.
        builder.Services.AddSystemd();
        builder.Services.AddMetrics();
        builder.Services.AddSingleton(TimeProvider.System);
        // Opened already (AddGateway's own registration then stands aside); disposed with the host like any singleton it made.
        if (auditLog is not null) builder.Services.AddSingleton(_ => auditLog.GetAwaiter().GetResult());
        StartupTrace.Mark("build: logging, systemd, metrics");

        // Bound again from the same configuration, inside the options pipeline (validated when the host starts).
        IAliciaBuilder alicia = builder.Services.AddAlicia(o =>
        {
            o.BackgroundStart = backgroundStart;
            ConfigurationLoader.BindEngine(configuration.Source, o);
        });
        // Provisioned identities when there is a CA or a TLS listener (a fresh install has neither).
        if (options.Broker.TlsPort > 0 || CertificateAuthority.Exists(options.DataDirectory)) alicia.AddIdentities();
        alicia.AddLocalTools()
            .AddGateway()
            .AddRegistry()
            .AddHomeAssistant()
            .AddVoice(v => ConfigurationLoader.BindVoice(configuration.Source, v))
            .AddAssistant(a => ConfigurationLoader.BindAssistant(configuration.Source, a))
            // The web host (Web section: Web:Port, Web:Address, Web:Token, Web:Enabled) with the monitoring service (Monitoring section).
            .AddMonitoring(m => configuration.Source.GetSection("Monitoring").Bind(m, o => o.ErrorOnUnknownConfiguration = true))
            .AddWeb(w => configuration.Source.GetSection("Web").Bind(w, o => o.ErrorOnUnknownConfiguration = true));
        StartupTrace.Mark("build: capabilities registered");
        return builder.Build();
    }
}
