using System.Diagnostics;
using System.Globalization;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security;
using Alicia.Host.Configuration;

namespace Alicia.Host.Commands;

/// <summary><c>alicia ping</c>: one signed request to a running engine, one verified signed reply.</summary>
internal static class PingCommand
{
    public static async Task<int> ExecuteAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var tokens = args.ToList();
        string identityName = Cli.TakeOption(tokens, "--as") ?? "alicia-cli";
        string? target = Cli.TakeOption(tokens, "--to");
        double seconds = Cli.TakeSeconds(tokens, "--timeout", 5);
        bool json = Cli.TakeFlag(tokens, "--json");
        if (!IdentityNames.IsValid(identityName)) throw new ConfigurationError($"--as: '{identityName}' is not a valid identity name");

        AliciaEngineOptions options = ConfigurationLoader.Load(tokens);
        target ??= options.Name;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
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
                stderr.WriteLine($"alicia ping: {e.Message}");
                return Cli.Failed;
            }
        }
    }
}
