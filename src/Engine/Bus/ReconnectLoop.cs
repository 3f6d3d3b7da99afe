using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Alicia.Engine.Bus;

/// <summary>
/// The one reconnect loop of every broker connection of ours (<see cref="MqttConnection"/>, <see cref="RawMqttLink"/>):
/// Polly's retry with exponential backoff and jitter (a restarted broker is not hit by every client at once), one
/// loop at a time, until the connection is back or it is being disposed.
/// </summary>
internal sealed class ReconnectLoop
{
    private readonly Func<CancellationToken, ValueTask> _reconnect;
    private readonly Func<bool> _isConnected;
    private readonly TimeSpan _firstDelay;
    private readonly TimeProvider _clock;
    private readonly CancellationToken _stopping;
    private readonly ResiliencePipeline _retry;
    private int _running;

    /// <param name="reconnect">One attempt: connect and restore what the connection had (it throws when it fails).</param>
    public ReconnectLoop(string name, Func<CancellationToken, ValueTask> reconnect, Func<bool> isConnected, ILogger logger,
        TimeSpan minDelay, TimeSpan maxDelay, CancellationToken stopping, TimeProvider? clock = null)
    {
        _reconnect = reconnect;
        _isConnected = isConnected;
        _firstDelay = minDelay;
        _clock = clock ?? TimeProvider.System;
        _stopping = stopping;
        _retry = new ResiliencePipelineBuilder { TimeProvider = _clock }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException || !stopping.IsCancellationRequested),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = minDelay,
                MaxDelay = maxDelay,
                MaxRetryAttempts = int.MaxValue,
                OnRetry = args =>
                {
                    logger.LogDebug(args.Outcome.Exception, "{Name}: reconnect failed; next try in {Delay}", name, args.RetryDelay);
                    return default;
                },
            })
            .Build();
    }

    /// <summary>Starts the loop unless one is already running.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _running, 1) == 0) _ = Task.Run(RunAsync);
    }

    private async Task RunAsync()
    {
        try
        {
            // Not at once: the broker that just went away is rarely back within the same millisecond.
            await Task.Delay(_firstDelay * (0.8 + Random.Shared.NextDouble() * 0.4), _clock, _stopping).ConfigureAwait(false);
            await _retry.ExecuteAsync(static (state, ct) => state(ct), _reconnect, _stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        finally
        {
            Volatile.Write(ref _running, 0);
            // A disconnect that raced with the end of this loop must not be left without a reconnect.
            if (!_isConnected() && !_stopping.IsCancellationRequested) Start();
        }
    }
}
