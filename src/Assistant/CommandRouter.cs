using Alicia.Assistant.Actions;
using Alicia.Assistant.Intents;
using Alicia.Assistant.Llm;
using Alicia.Assistant.Replies;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Registry;
using Microsoft.Extensions.Logging;

namespace Alicia.Assistant;

/// <summary>
/// The command router: each accepted transcript (<see cref="SttResponse"/> with status <c>ok</c>) and each text
/// request (<see cref="AiRequest"/>) goes to the local intent engine first (the satellite's room as the default place)
/// and to the LLM when no local intent matches. Every decision (intent, slots, devices and how each ended, fallback,
/// timings) is published on <c>alicia/voice/command/route</c>; the reply streams on <c>alicia/voice/ai/response</c>.
/// </summary>
internal sealed class CommandRouter(Func<AliciaBus> bus, DeviceRegistry registry, LocalIntentEngine intents, DeviceCommander commander,
    LlmResponder llm, ConversationMemory memory, TimerService timers, TimeProvider clock, ILogger logger)
{
    private Grammar Grammar => intents.Grammar;

    public RouteRequest FromTranscript(SttResponse transcript) =>
        new(transcript.SessionId, transcript.DeviceId, RoomOf(transcript.DeviceId, null), transcript.Language, transcript.Text, clock.GetTimestamp())
        {
            Timings = new Dictionary<string, double>(transcript.Timings, StringComparer.Ordinal),
        };

    public RouteRequest FromRequest(AiRequest request)
    {
        string deviceId = request.Context.GetValueOrDefault("device_id", "");
        return new RouteRequest(request.SessionId.Length > 0 ? request.SessionId : Guid.NewGuid().ToString("n"), deviceId,
            RoomOf(deviceId, request.Context.GetValueOrDefault("room")), request.Context.GetValueOrDefault("language", Grammar.Language), request.Text, clock.GetTimestamp());
    }

    /// <summary>The room named in the request, else the satellite's location in the registry.</summary>
    private string RoomOf(string deviceId, string? room) =>
        !string.IsNullOrWhiteSpace(room) ? room.Trim() : deviceId.Length > 0 && registry.Get(deviceId) is { } satellite ? satellite.Location : "";

    public async Task<VoiceCommandRoute> RouteAsync(RouteRequest request, CancellationToken cancellationToken)
    {
        var reply = new ReplyWriter(bus, request, clock);
        VoiceCommandRoute route;
        string text = request.Text.Trim();
        try
        {
            if (text.Length == 0)
            {
                route = Route(request, reply, "", "local_intent", "empty");
                await reply.FinalAsync(Grammar.Reply("empty"), ReplySource.LocalIntent, "", cancellationToken, isFixedPhrase: true).ConfigureAwait(false);
            }
            else
            {
                LocalDecision decision = intents.Decide(text, request.Room);
                reply.Mark("intent_ms");
                route = decision.Kind == DecisionKind.NoMatch
                    ? await llm.RespondAsync(request, reply, r => PublishRouteAsync(r, cancellationToken), cancellationToken).ConfigureAwait(false)
                    : await ActLocallyAsync(request, reply, decision, cancellationToken).ConfigureAwait(false);
                route.SessionId = request.SessionId;
                route.ReplyId = reply.ReplyId;
                route.Text = request.Text;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.LogError(e, "Routing '{Text}' failed", request.Text);
            route = Route(request, reply, "", "local_intent", "failed");
            route.Parameters["error"] = e.Message;
            await reply.FinalAsync(Grammar.Reply("broken"), ReplySource.Fallback, "", cancellationToken).ConfigureAwait(false);
        }
        foreach ((string stage, double ms) in reply.Timings) route.Timings.TryAdd(stage, ms);
        await PublishRouteAsync(route, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Routed '{Text}' from {Device} in {Room}: {Intent} -> {Outcome} ({Source}, {Ms:0.0} ms)",
            request.Text, request.DeviceId, request.Room, route.Intent, route.Outcome, route.Source, reply.ElapsedMs);
        return route;
    }

    private Task PublishRouteAsync(VoiceCommandRoute route, CancellationToken cancellationToken) =>
        bus().PublishAsync(route, cancellationToken: cancellationToken);

    private static VoiceCommandRoute Route(RouteRequest request, ReplyWriter reply, string intent, string source, string outcome) => new()
    {
        SessionId = request.SessionId,
        ReplyId = reply.ReplyId,
        Text = request.Text,
        Intent = intent,
        Source = source,
        Outcome = outcome,
        Location = request.Room,
        Fallback = "none",
    };

    private async Task<VoiceCommandRoute> ActLocallyAsync(RouteRequest request, ReplyWriter reply, LocalDecision decision, CancellationToken cancellationToken)
    {
        VoiceCommandRoute route = Route(request, reply, decision.Intent, "local_intent", "answered");
        foreach ((string k, string v) in decision.Slots) route.Parameters[k] = v;
        if (decision.Room.Length > 0) route.Location = decision.Room;
        string key = ConversationMemory.KeyOf(request.Room, request.SessionId);
        switch (decision.Kind)
        {
            case DecisionKind.Stop:
                route.Outcome = "stopped";
                // Published at once: speech output stops before anything else happens.
                await PublishRouteAsync(route, cancellationToken).ConfigureAwait(false);
                route = Route(request, reply, decision.Intent, "local_intent", "stopped");
                await reply.FinalAsync("", ReplySource.LocalIntent, "stop", cancellationToken, isFixedPhrase: true).ConfigureAwait(false);
                return route;
            case DecisionKind.TimerSet:
                route.Outcome = "timer";
                string duration = intents.SpokenDuration(decision.TimerSeconds);
                timers.Start(key, TimeSpan.FromSeconds(decision.TimerSeconds), () => TimerDoneAsync(request, duration));
                await reply.FinalAsync(decision.Reply, ReplySource.LocalIntent, decision.Intent, cancellationToken).ConfigureAwait(false);
                break;
            case DecisionKind.TimerCancel:
                route.Outcome = "timer";
                bool cancelled = timers.CancelLatest(key);
                await reply.FinalAsync(Grammar.Reply(cancelled ? "timer_cancelled" : "no_timer"), ReplySource.LocalIntent, decision.Intent, cancellationToken, isFixedPhrase: true).ConfigureAwait(false);
                break;
            case DecisionKind.Reply:
                route.Outcome = decision.Outcome;
                route.DeviceIds = [.. decision.Devices.Select(d => d.Id)];
                await reply.FinalAsync(decision.Reply, ReplySource.LocalIntent, decision.Intent, cancellationToken, decision.IsFixedPhrase).ConfigureAwait(false);
                break;
            default:
                await CommandAsync(request, reply, decision, route, cancellationToken).ConfigureAwait(false);
                break;
        }
        memory.Remember(key, request.Text, reply.Spoken);
        return route;
    }

    private async Task CommandAsync(RouteRequest request, ReplyWriter reply, LocalDecision decision, VoiceCommandRoute route, CancellationToken cancellationToken)
    {
        route.Capability = decision.Capability;
        route.DeviceId = decision.Devices[0].Id;
        route.DeviceIds = [.. decision.Devices.Select(d => d.Id)];
        route.Parameters["command"] = decision.Command;
        foreach ((string k, string v) in decision.Parameters) route.Parameters[k] = v;
        reply.Mark("command_sent_ms");
        DeviceOutcome[] outcomes = await commander.ExecuteAsync([.. decision.Devices.Select(d => d.Record)], decision.Capability, decision.Room,
            decision.Command, decision.Parameters, decision.AllowElsewhere, request.RequestedBy, cancellationToken).ConfigureAwait(false);
        reply.Mark("echo_confirmed_ms");
        foreach (DeviceOutcome o in outcomes) route.DeviceOutcomes[o.DeviceId] = Describe(o);
        route.Fallback = outcomes.Any(o => o.RetriedFrom.Length > 0) ? "another_device" : "none";
        DeviceOutcome[] failed = [.. outcomes.Where(o => !o.Confirmed)];
        route.Outcome = failed.Length == 0 ? "confirmed" : "failed";
        if (failed.Length == 0)
        {
            await reply.FinalAsync(Confirmation(decision), ReplySource.LocalIntent, decision.Intent, cancellationToken, isFixedPhrase: true).ConfigureAwait(false);
            return;
        }
        string sentence = string.Join(' ', failed.Take(3).Select(f =>
        {
            HomeDevice device = decision.Devices.FirstOrDefault(d => d.Id == f.DeviceId) ?? intents.Home.Devices.First(d => d.Id == f.DeviceId);
            string key = f.Status switch { CommandStatus.Offline => "offline", CommandStatus.Limited => "limited", _ => "no_echo" };
            return Grammar.Reply(key, ("device", device.DisplayName));
        }));
        await reply.FinalAsync(sentence, ReplySource.LocalIntent, decision.Intent, cancellationToken).ConfigureAwait(false);
    }

    internal static string Describe(DeviceOutcome o)
    {
        string status = o.Status switch
        {
            CommandStatus.Confirmed => "confirmed",
            CommandStatus.Offline => "offline",
            CommandStatus.Limited => "limited",
            _ => "no_echo",
        };
        return o.RetriedFrom.Length > 0 ? $"{status} (retried from {o.RetriedFrom})" : status;
    }

    private string Confirmation(LocalDecision d)
    {
        string device = d.Devices[0].DisplayName;
        string room = HomeModel.SpokenRoom(d.Room);
        string noun = Grammar.NounOf(d.Capability) is { } n ? (d.Devices.Length > 1 ? n.Plural : n.Singular) : d.Capability;
        bool many = d.Devices.Length > 1;
        string level = d.Slots.GetValueOrDefault("level", "");
        return d.Intent switch
        {
            "turn_on" => many ? Grammar.Reply("all_on", ("noun", noun), ("room", room)) : Grammar.Reply("on", ("device", device)),
            "turn_off" => many ? Grammar.Reply("all_off", ("noun", noun), ("room", room)) : Grammar.Reply("off", ("device", device)),
            "set_level" when d.Command == "turn_off" => many ? Grammar.Reply("all_off", ("noun", noun), ("room", room)) : Grammar.Reply("off", ("device", device)),
            "set_level" => many ? Grammar.Reply("all_level", ("noun", noun), ("room", room), ("level", level)) : Grammar.Reply("level", ("device", device), ("level", level)),
            "set_colour_temperature" => Grammar.Reply("colour_temperature", ("device", device), ("kelvin", d.Slots.GetValueOrDefault("kelvin", ""))),
            "set_volume" => Grammar.Reply("volume", ("device", device), ("level", level)),
            _ => Grammar.Reply("done"),
        };
    }

    private async Task TimerDoneAsync(RouteRequest request, string duration)
    {
        try
        {
            var later = request with { ArrivedAt = clock.GetTimestamp(), Text = "" };
            var reply = new ReplyWriter(bus, later, clock);
            await reply.FinalAsync(Grammar.Reply("timer_done", ("duration", duration)), ReplySource.LocalIntent, "timer_done", CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogWarning(e, "Could not tell the end of a {Duration} timer", duration);
        }
    }
}
