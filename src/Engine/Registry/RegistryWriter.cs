using Microsoft.Extensions.Logging;

namespace Alicia.Engine.Registry;

/// <summary>
/// The registry's single disk writer: writes are queued under the registry's lock (so the queue order is the
/// order of the in-memory changes) and applied on one dedicated thread, outside that lock. Whatever has queued
/// up while a transaction committed goes into the next one (group commit: one fsync for many changes). After a
/// transaction commits, each change is announced in queue order, then its waiter is released: a caller that
/// waits for its write knows it is durable and that its <see cref="RegistryChange"/> has been raised.
/// </summary>
internal sealed class RegistryWriter : IDisposable
{
    private readonly RegistryStore _store;
    private readonly Action<RegistryChange> _announce;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly Thread _thread;
    private List<Pending> _queue = [];
    private bool _completing;

    private readonly record struct Pending(StoreWrite Write, RegistryChange? Change, TaskCompletionSource Done);

    public RegistryWriter(RegistryStore store, Action<RegistryChange> announce, ILogger logger)
    {
        _store = store;
        _announce = announce;
        _logger = logger;
        // A dedicated thread, not the thread pool: synchronous callers block on their write, and must never wait
        // for a pool thread that their own blocking holds up.
        _thread = new Thread(Run) { IsBackground = true, Name = "alicia-registry-writer" };
        _thread.Start();
    }

    /// <summary>Transactions committed so far (each may hold several writes).</summary>
    public long Transactions { get; private set; }

    /// <summary>Queues a write (call under the registry's lock); the task completes once it is durable and announced.</summary>
    public Task Enqueue(StoreWrite write, RegistryChange? change)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_completing, this);
            _queue.Add(new Pending(write, change, done));
            if (_queue.Count == 1) Monitor.Pulse(_gate);
        }
        return done.Task;
    }

    private void Run()
    {
        while (true)
        {
            List<Pending> batch;
            lock (_gate)
            {
                while (_queue.Count == 0 && !_completing) Monitor.Wait(_gate);
                if (_queue.Count == 0) return; // completing and drained
                batch = _queue;
                _queue = [];
            }
            try
            {
                _store.Apply(batch.Select(p => p.Write));
                Transactions++;
            }
            catch (Exception e)
            {
                // Memory already holds these changes; the disk does not. Their callers are told (the registration is not acknowledged).
                _logger.LogError(e, "Registry: {Count} writes to {Path} failed", batch.Count, _store.Path);
                foreach (Pending p in batch) p.Done.TrySetException(e);
                continue;
            }
            foreach (Pending p in batch)
            {
                if (p.Change is { } change)
                {
                    try { _announce(change); }
                    catch (Exception e) { _logger.LogError(e, "Registry: a change handler failed for '{Device}'", change.Device.DeviceId); }
                }
                p.Done.TrySetResult();
            }
        }
    }

    /// <summary>Applies everything queued, then stops the thread.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_completing) return;
            _completing = true;
            Monitor.Pulse(_gate);
        }
        _thread.Join();
    }
}
