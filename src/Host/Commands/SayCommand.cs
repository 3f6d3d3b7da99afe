using System.CommandLine;
using System.Globalization;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;

namespace Alicia.Host.Commands;

/// <summary>
/// <c>alicia say "turn on the kitchen light"</c>: the assistant without a microphone. Sends an <see cref="AiRequest"/>
/// over the bus to the running engine's command router (the same path as a transcript), prints the reply as it streams
/// in, sentence by sentence, and what was done (each routing decision: intent, devices, how each ended).
/// </summary>
internal static class SayCommand
{
    public static Command Create(CliContext cli)
    {
        var text = new Argument<string>("text") { Description = "What to say to the assistant" };
        var room = new Option<string>("--room") { Description = "The room the request is for (default: the satellite's room, else none)", HelpName = "ROOM" };
        var device = new Option<string>("--device") { Description = "Speak for this satellite (its room is the default place)", HelpName = "ID" };
        var language = new Option<string>("--language") { Description = "Language of the request (default: the assistant's)", HelpName = "CODE" };
        var timeout = CommonOptions.Seconds("--timeout", "How long to wait for the whole reply", 15);
        var command = cli.ReadsConfiguration(new Command("say", "Say something to the assistant of a running engine and print its reply and what it did"), endpoint: true);
        command.Add(text);
        command.Add(room);
        command.Add(device);
        command.Add(language);
        command.Add(timeout);
        command.Add(cli.Options.As);
        command.SetAction((result, cancellationToken) => ExecuteAsync(cli, cli.Load(result), result.GetValue(text) ?? "", result.GetValue(room), result.GetValue(device),
            result.GetValue(language), result.GetValue(cli.Options.As) ?? Alicia.Tools.LocalTools.Cli, result.GetValue(timeout), cancellationToken));
        return command;
    }

    private static async Task<int> ExecuteAsync(CliContext cli, AliciaEngineOptions options, string text, string? room, string? device, string? language,
        string identityName, double seconds, CancellationToken cancellationToken)
    {
        TextWriter stdout = cli.Out, stderr = cli.Err;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(seconds));
        BusClient? client = await BusClient.ConnectAsync("say", options, identityName, TimeSpan.FromSeconds(seconds), stderr, cts.Token).ConfigureAwait(false);
        if (client is null) return Cli.Failed;
        await using (client.ConfigureAwait(false))
        {
            string sessionId = "say-" + Guid.NewGuid().ToString("n")[..12];
            var replied = new TaskCompletionSource<AiResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
            var routed = new TaskCompletionSource<VoiceCommandRoute>(TaskCreationOptions.RunContinuationsAsynchronously);
            var output = new Lock();
            await using IAsyncDisposable replies = await client.Bus.SubscribeAsync<AiResponse>((m, _) =>
            {
                if (m.Data.SessionId != sessionId) return default;
                lock (output) if (m.Data.Text.Length > 0) stdout.WriteLine(m.Data.Text);
                if (m.Data.IsFinal) replied.TrySetResult(m.Data);
                return default;
            }, new SubscribeOptions { ReceiveAll = true }, cancellationToken: cts.Token).ConfigureAwait(false);
            await using IAsyncDisposable routes = await client.Bus.SubscribeAsync<VoiceCommandRoute>((m, _) =>
            {
                if (m.Data.SessionId != sessionId) return default;
                lock (output) stdout.WriteLine(Describe(m.Data));
                // The decision that ends the request (tool calls are steps of it); its timings are filled in when it is complete.
                if (m.Data.Source != "llm_tool" && m.Data.Timings.Count > 0) routed.TrySetResult(m.Data);
                return default;
            }, new SubscribeOptions { ReceiveAll = true }, cancellationToken: cts.Token).ConfigureAwait(false);

            var request = new AiRequest { SessionId = sessionId, Text = text };
            if (!string.IsNullOrWhiteSpace(room)) request.Context["room"] = room;
            if (!string.IsNullOrWhiteSpace(device)) request.Context["device_id"] = device;
            if (!string.IsNullOrWhiteSpace(language)) request.Context["language"] = language;
            try
            {
                await client.Bus.PublishAsync(request, cancellationToken: cts.Token).ConfigureAwait(false);
                await Task.WhenAll(replied.Task, routed.Task).WaitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                stderr.WriteLine($"alicia say: no complete reply within {seconds} s. Is the engine running with the assistant (alicia run), on {client.Endpoint}?");
                return Cli.Failed;
            }
            catch (BusPublishException e)
            {
                stderr.WriteLine($"alicia say: {e.Message}{client.RefusalHint(options)}");
                return Cli.Failed;
            }
            return routed.Task.Result.Outcome is "failed" ? Cli.Failed : Cli.Ok;
        }
    }

    /// <summary>One line per routing decision: <c>[local_intent] turn_on light -> kitchen-light: confirmed (3.1 ms)</c>.</summary>
    internal static string Describe(VoiceCommandRoute r)
    {
        string devices = r.DeviceOutcomes.Count > 0 ? " -> " + string.Join(", ", r.DeviceOutcomes.Select(kv => $"{kv.Key}: {kv.Value}"))
            : r.DeviceIds.Count > 0 ? " -> " + string.Join(", ", r.DeviceIds) : "";
        string where = r.Location.Length > 0 ? $" in {r.Location}" : "";
        string what = r.Intent.Length > 0 ? r.Intent : "(no intent)";
        string timing = r.Timings.TryGetValue("reply_done_ms", out double ms) ? $" ({ms.ToString("0.0", CultureInfo.InvariantCulture)} ms)" : "";
        string error = r.Parameters.TryGetValue("error", out string? e) ? $": {e}" : "";
        return $"  [{r.Source}] {what}{(r.Capability.Length > 0 ? " " + r.Capability : "")}{where}{devices}; {r.Outcome}{error}{timing}";
    }
}
