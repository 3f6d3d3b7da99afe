using System.CommandLine;
using System.Diagnostics;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security;

namespace Alicia.Host.Commands;

/// <summary><c>alicia ping</c>: one signed request to a running engine, one verified signed reply.</summary>
internal static class PingCommand
{
    public static Command Create(CliContext cli)
    {
        var timeout = CommonOptions.Seconds("--timeout", "How long to wait for the reply", 5);
        var json = new Option<bool>("--json") { Description = "Send the request as JSON instead of MessagePack" };
        var command = cli.ReadsConfiguration(new Command("ping", "Send a signed ping to a running engine and wait for its signed reply"), endpoint: true);
        command.Add(cli.Options.As);
        command.Add(cli.Options.To);
        command.Add(timeout);
        command.Add(json);
        command.SetAction((result, cancellationToken) => ExecuteAsync(cli, cli.Load(result), result.GetValue(cli.Options.As) ?? Alicia.Tools.LocalTools.Cli,
            result.GetValue(cli.Options.To), result.GetValue(timeout), result.GetValue(json), cancellationToken));
        return command;
    }

    private static async Task<int> ExecuteAsync(CliContext cli, AliciaEngineOptions options, string identityName, string? target, double seconds, bool json,
        CancellationToken cancellationToken)
    {
        TextWriter stdout = cli.Out, stderr = cli.Err;
        target ??= options.Name;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(seconds));
        BusClient? client = await BusClient.ConnectAsync("ping", options, identityName, TimeSpan.FromSeconds(seconds), stderr, cts.Token).ConfigureAwait(false);
        if (client is null) return Cli.Failed;
        AliciaBus bus = client.Bus;
        BrokerEndpoint endpoint = client.Endpoint;
        KeyDirectory keys = client.Keys;

        await using (client.ConfigureAwait(false))
        {
            var stopwatch = Stopwatch.StartNew();
            try
            {
                BusMessage<ApiResponse> reply = await bus.RequestAsync<ApiRequest, ApiResponse>(
                    new ApiRequest { Operation = "ping" }, target, new PublishOptions { Json = json }, TimeSpan.FromSeconds(seconds), cts.Token).ConfigureAwait(false);
                stdout.WriteLine($"{reply.Data.Body} (status {reply.Data.Status}, {stopwatch.Elapsed.TotalMilliseconds:0.0} ms, signed by '{reply.Source}', verified: {reply.Envelope.Attestation})");
                return reply.Data.Status == 200 ? Cli.Ok : Cli.Failed;
            }
            catch (Exception e) when (e is TimeoutException or OperationCanceledException)
            {
                stderr.WriteLine($"alicia ping: no reply from '{target}' on {endpoint} within {seconds} s ({e.Message}). Is the engine running, and does it trust key '{identityName}' ({keys.PublicKeyPath(identityName)})?");
                return Cli.Failed;
            }
            catch (BusPublishException e)
            {
                stderr.WriteLine($"alicia ping: {e.Message}{client.RefusalHint(options)}");
                return Cli.Failed;
            }
        }
    }
}
