using Alicia.Contracts.Messages;

namespace Alicia.Engine.Monitoring;

/// <summary>
/// The alert rules: a service or device offline, an error rate over its threshold, a queue near full (judged on each
/// health evaluation), a latency budget breached repeatedly and bursts of security refusals (counted in a sliding
/// window). An alert fires once when its condition starts, clears when it ends, and is kept in the history store.
/// </summary>
internal sealed class AlertManager : IDisposable
{
    private readonly AlertOptions _options;
    private readonly AlertStore _store;
    private readonly TimeProvider _clock;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, AlertNotice> _firing = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Queue<DateTimeOffset>> _budgetBreaches = new(StringComparer.Ordinal);
    private readonly Queue<(DateTimeOffset At, string Reason)> _securityEvents = new();
    private readonly Dictionary<string, (string Rule, string Subject, string Severity, string Message)> _conditions = new(StringComparer.Ordinal);
    private DateTimeOffset _lastPrune;

    public AlertManager(AlertOptions options, AlertStore store, TimeProvider clock)
    {
        _options = options;
        _store = store;
        _clock = clock;
        DateTimeOffset now = clock.GetUtcNow();
        _store.CloseOpen(now);
        _store.Prune(now - options.Retention);
        _lastPrune = now;
    }

    /// <summary>Raised for each alert that fires or clears (outside the lock).</summary>
    public event Action<AlertNotice>? Changed;

    public IReadOnlyList<AlertNotice> Firing
    {
        get { lock (_lock) return [.. _firing.Values]; }
    }

    public List<AlertNotice> History(int limit = 100)
    {
        lock (_lock) return _store.History(limit);
    }

    /// <summary>Judges the rules that follow the components' health: offline, error rate, queue; and the windows' expiry.</summary>
    public void Observe(SystemHealth health)
    {
        DateTimeOffset now = _clock.GetUtcNow();
        var wanted = new Dictionary<string, (string Rule, string Subject, string Severity, string Message)>(StringComparer.Ordinal);
        foreach (ComponentHealth c in health.Components)
        {
            if (!c.Online)
                wanted[$"offline:{c.Name}"] = ("offline", c.Name, c.Kind == "device" ? "warning" : "critical", $"{c.Kind} '{c.Name}' is offline ({c.Reason})");
            else if (c.ErrorRate >= _options.ErrorRate)
                wanted[$"error_rate:{c.Name}"] = ("error_rate", c.Name, "warning", $"'{c.Name}' error rate {c.ErrorRate:P1} is over {_options.ErrorRate:P1}");
            if (c.Online && c.QueueFill >= _options.QueueFull)
                wanted[$"queue:{c.Name}"] = ("queue", c.Name, "warning", $"'{c.Name}' queue is {c.QueueFill:P0} full");
        }
        List<AlertNotice> changes = [];
        lock (_lock)
        {
            foreach ((string budget, Queue<DateTimeOffset> times) in _budgetBreaches)
            {
                Expire(times, now - _options.BudgetWindow);
                if (times.Count >= _options.BudgetBreaches)
                    wanted[$"budget:{budget}"] = ("budget", budget, "warning", $"latency budget '{budget}' exceeded {times.Count} times in {_options.BudgetWindow.TotalSeconds:0} s");
            }
            foreach ((string id, var condition) in _conditions) wanted[id] = condition;
            while (_securityEvents.Count > 0 && _securityEvents.Peek().At < now - _options.SecurityWindow) _securityEvents.Dequeue();
            if (_securityEvents.Count >= _options.SecurityEvents)
                wanted["security:refusals"] = ("security", "refusals", "critical", SecurityMessage());
            Reconcile(wanted, now, changes);
            if (now - _lastPrune > TimeSpan.FromHours(1))
            {
                _store.Prune(now - _options.Retention);
                _lastPrune = now;
            }
        }
        foreach (AlertNotice change in changes) Changed?.Invoke(change);
    }

    /// <summary>
    /// A condition another watcher judges (the audit log's chain, checkpoints, size): holds while <paramref name="message"/>
    /// is not null; the alert fires and clears with the next <see cref="Observe"/>.
    /// </summary>
    public void Condition(string id, string rule, string subject, string severity, string? message)
    {
        lock (_lock)
        {
            if (message is null) _conditions.Remove(id);
            else _conditions[id] = (rule, subject, severity, message);
        }
    }

    /// <summary>A request over its latency budget; fires <c>budget:{budget}</c> once breaches repeat within the window.</summary>
    public void BudgetBreached(string budget, string stage)
    {
        DateTimeOffset now = _clock.GetUtcNow();
        List<AlertNotice> changes = [];
        lock (_lock)
        {
            if (!_budgetBreaches.TryGetValue(budget, out Queue<DateTimeOffset>? times)) _budgetBreaches[budget] = times = new();
            times.Enqueue(now);
            Expire(times, now - _options.BudgetWindow);
            string id = $"budget:{budget}";
            if (times.Count >= _options.BudgetBreaches && !_firing.ContainsKey(id))
                changes.Add(Fire(id, "budget", budget, "warning", $"latency budget '{budget}' exceeded {times.Count} times in {_options.BudgetWindow.TotalSeconds:0} s (last by stage '{stage}')", now));
        }
        foreach (AlertNotice change in changes) Changed?.Invoke(change);
    }

    /// <summary>Refused messages or connections (signature, ACL, flood ...); fires <c>security:refusals</c> on a burst.</summary>
    public void SecurityEvent(string reason, long count = 1)
    {
        DateTimeOffset now = _clock.GetUtcNow();
        List<AlertNotice> changes = [];
        lock (_lock)
        {
            // A flood is counted up to what the rule needs twice over: the queue stays small whatever arrives.
            for (long i = Math.Min(count, 2L * _options.SecurityEvents); i > 0; i--) _securityEvents.Enqueue((now, reason));
            while (_securityEvents.Count > 0 && _securityEvents.Peek().At < now - _options.SecurityWindow) _securityEvents.Dequeue();
            if (_securityEvents.Count >= _options.SecurityEvents && !_firing.ContainsKey("security:refusals"))
                changes.Add(Fire("security:refusals", "security", "refusals", "critical", SecurityMessage(), now));
        }
        foreach (AlertNotice change in changes) Changed?.Invoke(change);
    }

    private string SecurityMessage() =>
        $"{_securityEvents.Count} refused messages in {_options.SecurityWindow.TotalSeconds:0} s (" +
        string.Join(", ", _securityEvents.GroupBy(e => e.Reason).Select(g => $"{g.Key} {g.Count()}")) + ")";

    private static void Expire(Queue<DateTimeOffset> times, DateTimeOffset before)
    {
        while (times.Count > 0 && times.Peek() < before) times.Dequeue();
    }

    private void Reconcile(Dictionary<string, (string Rule, string Subject, string Severity, string Message)> wanted, DateTimeOffset now,
        List<AlertNotice> changes)
    {
        foreach ((string id, (string rule, string subject, string severity, string message)) in wanted)
            if (!_firing.ContainsKey(id)) changes.Add(Fire(id, rule, subject, severity, message, now));
        foreach (string id in _firing.Keys.Where(id => !wanted.ContainsKey(id)).ToList())
        {
            AlertNotice firing = _firing[id];
            _firing.Remove(id);
            var cleared = new AlertNotice
            {
                Id = id, Rule = firing.Rule, Subject = firing.Subject, Severity = firing.Severity, State = AlertState.Cleared,
                Message = firing.Message + " — cleared", FiredAt = firing.FiredAt, ClearedAt = now,
            };
            _store.Cleared(cleared);
            changes.Add(cleared);
        }
    }

    private AlertNotice Fire(string id, string rule, string subject, string severity, string message, DateTimeOffset now)
    {
        var alert = new AlertNotice { Id = id, Rule = rule, Subject = subject, Severity = severity, State = AlertState.Firing, Message = message, FiredAt = now };
        _firing[id] = alert;
        _store.Fired(alert);
        return alert;
    }

    public void Dispose()
    {
        lock (_lock) _store.Dispose();
    }
}
