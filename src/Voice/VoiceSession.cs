using System.Diagnostics;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Voice.Audio;
using Alicia.Voice.Stt;
using Alicia.Voice.Tracing;
using Microsoft.Extensions.Logging;

namespace Alicia.Voice;

/// <summary>Stage stamps of one published transcript (for benchmarks and monitoring).</summary>
internal sealed record UtteranceTrace(string SessionId, Utterance Utterance, SttResponse Response, string Status, long PublishedTicks)
{
    public double EndOfSpeechToPublishedMs => Stopwatch.GetElapsedTime(Utterance.SpeechEndArrivedTicks, PublishedTicks).TotalMilliseconds;
    public double EndpointToPublishedMs => Stopwatch.GetElapsedTime(Utterance.EndpointTicks, PublishedTicks).TotalMilliseconds;
}

/// <summary>
/// One voice session: the pipeline, and what happens to its utterances (segments on the bus, speech to
/// text through the shared pool, the quality verdict, the transcript with per-stage timings).
/// </summary>
internal sealed class VoiceSession : IVoicePipelineSink, IDisposable
{
    private readonly VoiceService _service;
    private readonly AliciaBus _bus;
    private readonly ILogger _logger;
    private readonly List<Task> _pending = [];
    private readonly CancellationTokenSource _cancel = new();
    private Speculation? _speculation; // pipeline callbacks only (the one audio writer)
    private int _published;

    private readonly SpeechToTextPool? _pool;
    private readonly SessionTrace _trace;

    internal VoiceSession(VoiceService service, AliciaBus bus, ILogger logger, string id, string deviceId, string requester, VoiceSessionKind kind, string language, int sampleRate, int channels, SpeechToTextPool? pool)
    {
        _service = service;
        _pool = pool;
        _bus = bus;
        _logger = logger;
        Id = id;
        DeviceId = deviceId;
        Requester = requester;
        Kind = kind;
        Language = language;
        Converter = new PcmConverter(sampleRate, channels);
        Pipeline = new VoicePipeline(service.VadModel.CreateStream(), Converter, this, service.Options.Endpointing);
        _trace = VoiceTracing.StartSession(id, deviceId, kind);
    }

    public string Id { get; }
    public string DeviceId { get; }

    /// <summary>The satellite's room from its request (empty: unknown): media there is ducked while the session is open.</summary>
    public string Room { get; init; } = "";

    /// <summary>Who asked for the session: transcripts are addressed to it.</summary>
    public string Requester { get; }

    public VoiceSessionKind Kind { get; }
    public string Language { get; }
    public PcmConverter Converter { get; }
    public VoicePipeline Pipeline { get; }

    /// <summary>The speech-to-text engine chosen for this session (null: none configured).</summary>
    public ISpeechToText? SttEngine => _pool?.Engine;
    public int Published => Volatile.Read(ref _published);

    public void OnSpeechStarted(int index, double startSeconds) =>
        Track(_bus.PublishAsync(new SpeechSegment { SessionId = Id, Index = index, Edge = SpeechEdge.Start, StartSeconds = startSeconds }, cancellationToken: _cancel.Token));

    public void OnTentativeEnd(TentativeUtterance tentative)
    {
        Withdraw();
        SpeechToTextPool? pool = _pool;
        // Speculation only when no utterance waits; it queues behind any real work and is promoted if it
        // becomes the utterance. (Requiring a free slot as well was measured: with 10 sessions most
        // speculations were then skipped and endpoint -> published p95 rose from 3 to 208 ms.) Dictation is
        // long and pauses often: a withdrawn speculation of it would hold a slot for seconds, for little gain.
        if (pool is null || pool.Queued > 0 || Kind != VoiceSessionKind.Command) return;
        var cancel = CancellationTokenSource.CreateLinkedTokenSource(_cancel.Token);
        SttTicket ticket = pool.Submit(tentative.Samples, SttOptionsFor(), SttPriority.Speculative, cancel.Token);
        _ = ticket.Outcome.ContinueWith(static (_, c) => ((CancellationTokenSource)c!).Dispose(), cancel, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        _speculation = new Speculation(tentative, ticket, cancel, Stopwatch.GetTimestamp());
        _service.CountSpeculation(started: true);
    }

    public void OnSpeechResumed(int index) => Withdraw();

    /// <summary>Drops the speculation: a waiting one leaves the queue; a running one is aborted (its whisper state is kept).</summary>
    private void Withdraw()
    {
        if (_speculation is not { } stale) return;
        _speculation = null;
        _service.CountSpeculation(started: false);
        try { stale.Cancel.Cancel(); } catch (ObjectDisposedException) { } // already finished
    }

    public void OnUtterance(Utterance utterance)
    {
        Speculation? speculation = _speculation;
        if (speculation is not null && (speculation.Tentative.Index != utterance.Index || speculation.Tentative.EndSample != utterance.EndSample || speculation.Tentative.StartSample != utterance.StartSample))
        {
            Withdraw(); // the speech ended elsewhere (cut at the maximum length, or end of stream)
            speculation = null;
        }
        _speculation = null;
        Track(TranscribeAsync(utterance, speculation));
    }

    private SttOptions SttOptionsFor() => new()
    {
        Language = Language,
        MaxTokens = Kind == VoiceSessionKind.Command ? _service.Options.CommandMaxTokens : _service.Options.DictationMaxTokens,
    };

    private SttPriority Priority => Kind == VoiceSessionKind.Command ? SttPriority.Command : SttPriority.Normal;

    /// <summary>The speculation's outcome when it stands; else a fresh submission (the same audio, so the same answer).</summary>
    private async Task<(SttOutcome Outcome, bool Speculative)> OutcomeAsync(SpeechToTextPool pool, Utterance utterance, Speculation? speculation, CancellationToken ct)
    {
        if (speculation is not null)
        {
            speculation.Ticket.TryPromote(Priority); // still waiting: it is real now
            SttOutcome early = await speculation.Ticket.Outcome.ConfigureAwait(false);
            if (early.Kind == SttOutcomeKind.Transcribed) return (early, true);
        }
        return (await pool.SubmitAsync(utterance.Samples, SttOptionsFor(), Priority, ct).ConfigureAwait(false), false);
    }

    private async Task TranscribeAsync(Utterance utterance, Speculation? speculation)
    {
        CancellationToken ct = _cancel.Token;
        Task segment = _bus.PublishAsync(new SpeechSegment
        {
            SessionId = Id, Index = utterance.Index, Edge = SpeechEdge.End, StartSeconds = utterance.StartSeconds, EndSeconds = utterance.EndSeconds,
        }, cancellationToken: ct);

        SpeechToTextPool? pool = _pool;
        (SttOutcome outcome, bool speculative) = pool is null
            ? (new SttOutcome(SttOutcomeKind.Failed, null, "no speech-to-text engine is configured", 0, 0), false)
            : await OutcomeAsync(pool, utterance, speculation, ct).ConfigureAwait(false);
        await segment.ConfigureAwait(false);

        string status, reason = outcome.Reason;
        var response = new SttResponse { SessionId = Id, DeviceId = DeviceId, Language = Language, Utterance = utterance.Index };
        if (outcome is { Kind: SttOutcomeKind.Transcribed, Result: { } result })
        {
            QualityVerdict verdict = _service.Quality.Assess(result);
            status = verdict.Accepted ? "ok" : "rejected";
            reason = verdict.Reason;
            response.Text = result.Text;
            response.Confidence = result.Confidence;
            foreach (TranscriptSegment s in result.Segments)
                response.Segments.Add(new TranscriptSegment { Text = s.Text, Probability = s.Probability, StartSeconds = s.StartSeconds + utterance.StartSeconds, EndSeconds = s.EndSeconds + utterance.StartSeconds });
            response.Timings["audio_ctx"] = result.AudioContext;
            response.Timings["tokens"] = result.Tokens;
            response.Timings["no_speech_prob"] = result.NoSpeechProbability;
        }
        else status = outcome.Kind switch { SttOutcomeKind.Busy => "busy", SttOutcomeKind.Cancelled => "cancelled", _ => "error" };

        response.Status = status;
        long now = Stopwatch.GetTimestamp();
        response.Timings["speech_ms"] = utterance.DurationSeconds * 1000;
        response.Timings["utterance_start_s"] = utterance.StartSeconds;
        response.Timings["utterance_end_s"] = utterance.EndSeconds;
        response.Timings["vad_endpoint_ms"] = Stopwatch.GetElapsedTime(utterance.SpeechEndArrivedTicks, utterance.EndpointTicks).TotalMilliseconds;
        response.Timings["stt_queue_ms"] = outcome.QueueMs;
        response.Timings["stt_ms"] = outcome.SttMs;
        response.Timings["speculative"] = speculative ? 1 : 0;
        if (speculative) response.Timings["speculation_lead_ms"] = Stopwatch.GetElapsedTime(speculation!.SubmittedTicks, utterance.EndpointTicks).TotalMilliseconds;
        response.Timings["endpoint_to_result_ms"] = Stopwatch.GetElapsedTime(utterance.EndpointTicks, now).TotalMilliseconds;
        response.Timings["end_of_speech_to_result_ms"] = Stopwatch.GetElapsedTime(utterance.SpeechEndArrivedTicks, now).TotalMilliseconds;
        response.Timings["first_frame_to_result_ms"] = Stopwatch.GetElapsedTime(utterance.FirstFrameTicks, now).TotalMilliseconds;

        var metadata = new Dictionary<string, string>
        {
            ["status"] = status,
            ["utterance"] = utterance.Index.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["device_id"] = DeviceId,
            ["engine"] = pool?.Engine.Name ?? "",
        };
        if (reason.Length > 0) metadata["reason"] = reason;
        using Activity? span = VoiceTracing.StartUtterance(_trace, utterance, speculative ? speculation!.SubmittedTicks : utterance.EndpointTicks, outcome.QueueMs, outcome.SttMs, status);
        VoiceTracing.Carry(metadata, span, _trace);
        await _bus.PublishAsync(response, new PublishOptions { Destination = Requester, Metadata = metadata }, ct).ConfigureAwait(false);
        long published = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _published);
        _service.OnPublished(new UtteranceTrace(Id, utterance, response, status, published));
        if (status != "ok") _logger.LogInformation("Voice session {Session} utterance {Index}: {Status} ({Reason})", Id, utterance.Index, status, reason);
    }

    private void Track(Task task)
    {
        lock (_pending) _pending.Add(task);
    }

    /// <summary>End of audio: flushes speech in progress and waits until every transcript is published; returns the utterance count.</summary>
    public async Task<int> CompleteAsync()
    {
        Pipeline.Complete();
        await DrainAsync().ConfigureAwait(false);
        return Pipeline.Utterances;
    }

    /// <summary>Waits for what is already under way (after a failure: finished utterances are still answered).</summary>
    public async Task DrainAsync()
    {
        Task[] pending;
        lock (_pending) pending = [.. _pending];
        try { await Task.WhenAll(pending).ConfigureAwait(false); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogWarning(e, "Voice session {Session}: publishing a result failed", Id);
        }
    }

    public Task PublishStatusAsync(VoiceSessionState state, string reason = "") =>
        _bus.PublishAsync(new VoiceSessionStatus
        {
            SessionId = Id, DeviceId = DeviceId, State = state, Reason = reason, AudioSeconds = Pipeline.AudioSeconds, Utterances = Pipeline.Utterances,
        }, new PublishOptions { Destination = Requester });

    /// <summary>Stops what is under way (safe after <see cref="Dispose"/>).</summary>
    public void Cancel()
    {
        try { _cancel.Cancel(); } catch (ObjectDisposedException) { }
    }

    private sealed record Speculation(TentativeUtterance Tentative, SttTicket Ticket, CancellationTokenSource Cancel, long SubmittedTicks);

    public void Dispose()
    {
        // A speculation still queued when the stream failed (no utterance came to claim it) leaves the queue.
        Withdraw();
        Cancel();
        VoiceTracing.EndSession(_trace, Pipeline.Utterances);
        Pipeline.Dispose();
        _cancel.Dispose();
    }
}
