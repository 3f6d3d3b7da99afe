using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alicia.Voice.Arbitration;

/// <summary>
/// Wake-word arbitration: satellites publish <see cref="WakeWordDetection"/>s; the first of a room opens a round that
/// lasts <see cref="Window"/> (on the arbiter's clock), after which one <see cref="WakeWordDecision"/> names the best
/// satellite (it opens its session) and the others (they stand down). A wake word is also a barge-in for its room:
/// the first detection publishes a <see cref="VoiceCommandRoute"/> <c>stop</c> for the room, so speech there stops
/// within one chunk wherever it is spoken.
/// </summary>
internal sealed class WakeWordArbiter : IEngineService
{
    private readonly Dictionary<string, WakeWordRound> _open = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _lock = new();
    private readonly TimeProvider? _clockOverride;
    private TimeProvider _clock = TimeProvider.System;
    private ILogger _logger = NullLogger.Instance;
    private AliciaBus? _bus;
    private IAsyncDisposable? _subscription;
    private long _rounds;

    /// <param name="window">How long a round collects detections after its first.</param>
    /// <param name="clock">The round timers' clock (null: the engine's).</param>
    public WakeWordArbiter(TimeSpan window, TimeProvider? clock = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(window.Ticks, nameof(window));
        Window = window;
        _clockOverride = clock;
    }

    public string Name => "wake-arbiter";

    public IReadOnlyList<Type> StartsAfter { get; } = [typeof(Engine.Security.Gateway.SecurityGateway)];

    public TimeSpan Window { get; }

    /// <summary>Raised after each detection has joined its round (tests wait on it before moving the clock).</summary>
    public event Action<WakeWordDetection>? Received;

    public async Task StartAsync(AliciaEngine engine, CancellationToken cancellationToken)
    {
        _bus = engine.Bus;
        _clock = _clockOverride ?? engine.Clock;
        _logger = engine.LoggerFactory.CreateLogger<WakeWordArbiter>();
        _subscription = await engine.Bus.SubscribeAsync<WakeWordDetection>((m, ct) => OnDetectionAsync(m.Data, ct),
            new SubscribeOptions { ReceiveAll = true }, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    internal async ValueTask OnDetectionAsync(WakeWordDetection detection, CancellationToken cancellationToken)
    {
        if (detection.DeviceId.Length == 0) return;
        // A satellite without a room is a room of its own: nothing to arbitrate against, nothing to interrupt.
        string key = detection.Room.Length > 0 ? detection.Room : "device:" + detection.DeviceId;
        bool opened = false;
        lock (_lock)
        {
            if (!_open.TryGetValue(key, out WakeWordRound? round))
            {
                round = new WakeWordRound($"wake-{Interlocked.Increment(ref _rounds)}", detection.Room, detection.WakeWord);
                _open[key] = round;
                round.Timer = _clock.CreateTimer(_ => _ = CloseAsync(key, round), null, Window, Timeout.InfiniteTimeSpan);
                opened = true;
            }
            round.Add(detection);
        }
        Received?.Invoke(detection);
        if (opened && detection.Room.Length > 0 && _bus is not null)
            await _bus.PublishAsync(new VoiceCommandRoute { SessionId = "", Intent = "stop", Location = detection.Room }, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private async Task CloseAsync(string key, WakeWordRound round)
    {
        lock (_lock)
        {
            // A later round of the same room may be open already: close only this one.
            if (!_open.TryGetValue(key, out WakeWordRound? current) || current != round) return;
            _open.Remove(key);
        }
        round.Timer?.Dispose();
        WakeWordDecision decision = round.Decide();
        _logger.LogInformation("Wake word {Round} in {Room}: {Winner} of {Count} satellite(s) opens the session", round.Id, key, decision.Winner, decision.StandDown.Count + 1);
        try
        {
            if (_bus is not null) await _bus.PublishAsync(decision).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogWarning("Wake word {Round}: the decision could not be published ({Reason})", round.Id, e.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_subscription is not null) await _subscription.DisposeAsync().ConfigureAwait(false);
        lock (_lock)
        {
            foreach (WakeWordRound round in _open.Values) round.Timer?.Dispose();
            _open.Clear();
        }
    }
}
