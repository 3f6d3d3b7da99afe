namespace Alicia.Voice.Stt;

internal enum SttPriority
{
    /// <summary>Device commands: served first.</summary>
    Command = 0,
    Normal = 1,

    /// <summary>
    /// Transcription started during the silence hangover, before the end is certain: it yields to real work.
    /// It is served only after everything else, starts only while no real transcription runs (on two cores it
    /// would take a core from one), and a running one is aborted when withdrawn or when real work would
    /// otherwise wait for its slot (then it goes back to the head of the speculative queue).
    /// </summary>
    Speculative = 2,
}

internal enum SttOutcomeKind
{
    Transcribed,

    /// <summary>The queue was full, or the utterance waited longer than the limit: the CPU is saturated.</summary>
    Busy,

    Failed,
    Cancelled,
}

internal sealed record SttOutcome(SttOutcomeKind Kind, SttResult? Result, string Reason, double QueueMs, double SttMs);

internal sealed record SttPoolOptions
{
    /// <summary>Utterances waiting at most (beyond those being transcribed); more get "busy" at once.</summary>
    public int QueueCapacity { get; init; } = 16;

    /// <summary>An utterance not started within this gets "busy" instead of a silent stall.</summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>What one transcription is expected to take before any has been measured (engine selection by latency budget).</summary>
    public TimeSpan ExpectedLatency { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// Whether a speculation may start beside a real transcription. Off by default: on a loaded 2-core machine,
    /// speculations beside real work made 10 sessions 1.11x slower (issue 14; bench/README.md, "Voice under load").
    /// </summary>
    public bool SpeculateBesideRealWork { get; init; }
}

/// <summary>
/// The engine manager's scheduler: utterances from every session share the loaded engine's
/// <see cref="ISpeechToText.MaxConcurrency"/> slots through one bounded priority queue. Device commands
/// go before other work; a full queue or a wait beyond <see cref="SttPoolOptions.MaxWait"/> answers
/// <see cref="SttOutcomeKind.Busy"/> with the reason, so the satellite can say so. Speculations yield to real
/// work (see <see cref="SttPriority.Speculative"/>).
/// </summary>
internal sealed class SpeechToTextPool : IAsyncDisposable
{
    private readonly ISpeechToText _engine;
    private readonly SttPoolOptions _options;
    private readonly TimeProvider _clock;
    private readonly object _gate = new();
    private readonly LinkedList<Job>[] _queues = [new(), new(), new()];
    private readonly SemaphoreSlim _available = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task[] _workers;
    private int _queued;
    private int _runningReal;                      // under _gate
    private readonly List<Job> _runningSpeculative = []; // under _gate
    private int _parked;                           // wake-ups a worker gave back because only speculation waited beside real work

    public SpeechToTextPool(ISpeechToText engine, SttPoolOptions? options = null, TimeProvider? clock = null)
    {
        _engine = engine;
        _options = options ?? new SttPoolOptions();
        _clock = clock ?? TimeProvider.System;
        _workers = new Task[Math.Max(1, engine.MaxConcurrency)];
        for (int i = 0; i < _workers.Length; i++) _workers[i] = Task.Run(WorkAsync);
    }

    public ISpeechToText Engine => _engine;

    /// <summary>Utterances waiting now.</summary>
    public int Queued => Volatile.Read(ref _queued);

    private int _running;

    /// <summary>Transcriptions under way now.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>Transcriptions that can run at once.</summary>
    public int Slots => _workers.Length;


    public long BusyCount;
    public long TranscribedCount;

    /// <summary>Running speculations aborted to let real work have their slot.</summary>
    public long YieldedCount;

    private double _latencyMs = double.NaN;

    /// <summary>Moving average of the transcription time (ms), or the configured expectation before the first.</summary>
    public double LatencyEstimateMs => double.IsNaN(Volatile.Read(ref _latencyMs)) ? _options.ExpectedLatency.TotalMilliseconds : Volatile.Read(ref _latencyMs);

    /// <summary>
    /// When a new utterance would be answered: its own transcription, after the work ahead of it (waiting, and
    /// running beyond the free slots) has been shared over the slots.
    /// </summary>
    public double ExpectedResultMs => LatencyEstimateMs * (1 + Math.Max(0, Queued + Running - Slots + 1) / (double)Slots);

    private void Observe(double sttMs)
    {
        // EWMA over about the last 8 utterances; one writer per slot, a lost update only delays the estimate.
        double previous = Volatile.Read(ref _latencyMs);
        Volatile.Write(ref _latencyMs, double.IsNaN(previous) ? sttMs : previous + (sttMs - previous) / 8);
    }

    public Task<SttOutcome> SubmitAsync(ReadOnlyMemory<float> audio, SttOptions options, SttPriority priority, CancellationToken cancellationToken = default) =>
        Submit(audio, options, priority, cancellationToken).Outcome;

    /// <summary>Queues an utterance; the ticket can raise its priority while it waits (a speculation that became real).</summary>
    public SttTicket Submit(ReadOnlyMemory<float> audio, SttOptions options, SttPriority priority, CancellationToken cancellationToken = default)
    {
        var job = new Job(audio, options, priority, _clock.GetTimestamp(), cancellationToken);
        lock (_gate)
        {
            if (_queued >= _options.QueueCapacity)
            {
                if (priority != SttPriority.Speculative) Interlocked.Increment(ref BusyCount);
                job.Completion.TrySetResult(new SttOutcome(SttOutcomeKind.Busy, null, $"speech-to-text busy: {_queued} utterances already waiting", 0, 0));
                return new SttTicket(this, job);
            }
            job.Node = _queues[(int)priority].AddLast(job);
            _queued++;
        }
        Arm(job);
        _available.Release();
        if (priority != SttPriority.Speculative) YieldToRealWork();
        return new SttTicket(this, job);
    }

    private void Arm(Job job)
    {
        job.Timer = _clock.CreateTimer(static s => ((SpeechToTextPool)((object[])s!)[0]).Expire((Job)((object[])s!)[1]), new object[] { this, job }, _options.MaxWait, Timeout.InfiniteTimeSpan);
        job.Registration = job.Cancellation.Register(() => Remove(job, new SttOutcome(SttOutcomeKind.Cancelled, null, "cancelled", 0, 0)));
    }

    /// <summary>
    /// Real work waits and every slot is busy: the most recently started speculation is aborted (the engine keeps
    /// its state) and goes back to the head of its queue.
    /// </summary>
    private void YieldToRealWork()
    {
        CancellationTokenSource? yielding = null;
        lock (_gate)
        {
            bool realWaits = _queues[(int)SttPriority.Command].Count + _queues[(int)SttPriority.Normal].Count > 0;
            if (!realWaits || _runningReal + _runningSpeculative.Count < _workers.Length) return;
            for (int i = _runningSpeculative.Count - 1; i >= 0 && yielding is null; i--)
                if (_runningSpeculative[i].Yield is { IsCancellationRequested: false } cts) yielding = cts;
        }
        if (yielding is null) return;
        try { yielding.Cancel(); }
        catch (ObjectDisposedException) { return; } // it ended meanwhile: its slot is free anyway
        Interlocked.Increment(ref YieldedCount);
    }

    /// <summary>
    /// Moves a waiting job to the back of a higher-priority queue; a running speculation becomes real work (no
    /// longer yields). False once it has ended, or started as real work.
    /// </summary>
    internal bool Promote(Job job, SttPriority priority)
    {
        lock (_gate)
        {
            if (priority >= job.Priority) return job.Node?.List is not null || _runningSpeculative.Contains(job);
            if (_runningSpeculative.Remove(job))
            {
                job.Priority = priority;
                _runningReal++;
                return true;
            }
            if (job.Node?.List is null) return false;
            job.Node.List.Remove(job.Node);
            job.Priority = priority;
            job.Node = _queues[(int)priority].AddLast(job);
        }
        ReleaseParked();
        YieldToRealWork();
        return true;
    }

    /// <summary>Gives back the wake-ups workers parked (a real job ended, or a waiting speculation became real).</summary>
    private void ReleaseParked()
    {
        int n;
        lock (_gate)
        {
            n = _parked;
            _parked = 0;
        }
        if (n > 0) _available.Release(n);
    }

    private void Expire(Job job)
    {
        double waited = _clock.GetElapsedTime(job.Enqueued).TotalMilliseconds;
        if (Remove(job, new SttOutcome(SttOutcomeKind.Busy, null, $"speech-to-text busy: not started within {_options.MaxWait.TotalMilliseconds:0} ms", waited, 0))
            && job.Priority != SttPriority.Speculative)
            Interlocked.Increment(ref BusyCount);
    }

    private bool Remove(Job job, SttOutcome outcome)
    {
        lock (_gate)
        {
            if (job.Node?.List is null) return false;
            job.Node.List.Remove(job.Node);
            _queued--;
        }
        job.Timer?.Dispose();
        job.Registration.Dispose();
        job.Completion.TrySetResult(outcome);
        return true;
    }

    /// <summary>The next job, marked running; null when none, or when only speculation waits while real work runs (the wake-up is parked).</summary>
    private Job? Take(bool stopping = false)
    {
        lock (_gate)
        {
            foreach (LinkedList<Job> queue in _queues)
            {
                if (queue.First is not { } node) continue;
                Job job = node.Value;
                if (!stopping && job.Priority == SttPriority.Speculative && _runningReal > 0 && !_options.SpeculateBesideRealWork)
                {
                    _parked++;
                    return null;
                }
                queue.RemoveFirst();
                _queued--;
                if (stopping) return job;
                if (job.Priority == SttPriority.Speculative)
                {
                    job.Yield = new CancellationTokenSource();
                    _runningSpeculative.Add(job);
                }
                else _runningReal++;
                return job;
            }
            return null;
        }
    }

    /// <summary>The job has stopped running; true when it was real work (parked speculations may then start).</summary>
    private bool Finished(Job job)
    {
        lock (_gate)
        {
            if (_runningSpeculative.Remove(job)) return false;
            _runningReal--;
            return true;
        }
    }

    /// <summary>A yielded speculation goes back to the head of its queue, to start again when the real work is done.</summary>
    private void Requeue(Job job)
    {
        lock (_gate)
        {
            job.Node = _queues[(int)job.Priority].AddFirst(job);
            _queued++;
        }
        Volatile.Write(ref job.Started, false);
        Arm(job);
        _available.Release();
    }

    private async Task WorkAsync()
    {
        CancellationToken stopping = _stopping.Token;
        while (true)
        {
            try { await _available.WaitAsync(stopping).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            Job? job = Take();
            if (job is null) continue; // expired, cancelled, or a speculation parked behind real work
            job.Timer?.Dispose();
            job.Registration.Dispose();
            double queueMs = _clock.GetElapsedTime(job.Enqueued).TotalMilliseconds;
            long started = _clock.GetTimestamp();
            Volatile.Write(ref job.Started, true);
            Interlocked.Increment(ref _running);
            CancellationTokenSource? yielding = job.Yield;
            bool requeued = false;
            try
            {
                // A speculation also ends when it yields to real work (the engine keeps its state for the next call).
                using var linked = yielding is null
                    ? CancellationTokenSource.CreateLinkedTokenSource(job.Cancellation, stopping)
                    : CancellationTokenSource.CreateLinkedTokenSource(job.Cancellation, stopping, yielding.Token);
                SttResult result = await _engine.TranscribeAsync(job.Audio, job.Options, linked.Token).ConfigureAwait(false);
                Interlocked.Increment(ref TranscribedCount);
                double sttMs = _clock.GetElapsedTime(started).TotalMilliseconds;
                Observe(sttMs);
                job.Completion.TrySetResult(new SttOutcome(SttOutcomeKind.Transcribed, result, "", queueMs, sttMs));
            }
            catch (OperationCanceledException) when (yielding is { IsCancellationRequested: true } && !job.Cancellation.IsCancellationRequested && !stopping.IsCancellationRequested)
            {
                requeued = true;
            }
            catch (OperationCanceledException)
            {
                job.Completion.TrySetResult(new SttOutcome(SttOutcomeKind.Cancelled, null, "cancelled", queueMs, _clock.GetElapsedTime(started).TotalMilliseconds));
            }
            catch (Exception e)
            {
                job.Completion.TrySetResult(new SttOutcome(SttOutcomeKind.Failed, null, $"{_engine.Name} failed: {e.Message}", queueMs, _clock.GetElapsedTime(started).TotalMilliseconds));
            }
            finally
            {
                Interlocked.Decrement(ref _running);
                bool wasReal = Finished(job); // out of the running list first: nothing picks its yield source after this
                job.Yield = null;
                yielding?.Dispose();
                if (requeued) Requeue(job);
                if (wasReal) ReleaseParked();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        try { await Task.WhenAll(_workers).ConfigureAwait(false); } catch (OperationCanceledException) { }
        while (Take(stopping: true) is { } job) job.Completion.TrySetResult(new SttOutcome(SttOutcomeKind.Cancelled, null, "stopping", 0, 0));
        _available.Dispose();
        _stopping.Dispose();
    }

    internal sealed class Job(ReadOnlyMemory<float> audio, SttOptions options, SttPriority priority, long enqueued, CancellationToken cancellation)
    {
        public bool Started;
        public ReadOnlyMemory<float> Audio { get; } = audio;
        public SttOptions Options { get; } = options;
        public SttPriority Priority { get; set; } = priority;
        public long Enqueued { get; } = enqueued;
        public CancellationToken Cancellation { get; } = cancellation;
        public TaskCompletionSource<SttOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public LinkedListNode<Job>? Node { get; set; }
        public ITimer? Timer { get; set; }
        public CancellationTokenRegistration Registration { get; set; }

        /// <summary>Set while the job runs as a speculation: cancelled to make it yield to real work.</summary>
        public CancellationTokenSource? Yield { get; set; }
    }
}

/// <summary>A queued utterance: its outcome, and a way to raise its priority while it waits.</summary>
internal sealed class SttTicket
{
    private readonly SpeechToTextPool _pool;
    private readonly SpeechToTextPool.Job _job;

    internal SttTicket(SpeechToTextPool pool, SpeechToTextPool.Job job) => (_pool, _job) = (pool, job);

    public Task<SttOutcome> Outcome => _job.Completion.Task;

    /// <summary>Whether transcription is under way or done (a speculation that yielded is waiting again).</summary>
    public bool Started => Volatile.Read(ref _job.Started);

    /// <summary>Raises the priority of a waiting job, or makes a running speculation real work; false when it has ended or runs as real work already.</summary>
    public bool TryPromote(SttPriority priority) => _pool.Promote(_job, priority);
}
