using Alicia.Contracts.Messages;
using Alicia.Engine.Monitoring;
using Microsoft.Extensions.Time.Testing;

namespace Alicia.Web.Tests;

public sealed class AlertTests : IDisposable
{
    private readonly TempDirectory _dir = new("alicia-alerts");
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
    private readonly AlertOptions _options = new() { BudgetBreaches = 3, BudgetWindow = TimeSpan.FromMinutes(1), SecurityEvents = 5, Retention = TimeSpan.FromDays(1) };
    private readonly List<AlertNotice> _changes = [];

    private string DbPath => Path.Combine(_dir.Path, "alerts.db");

    private AlertManager NewManager()
    {
        var manager = new AlertManager(_options, new AlertStore(DbPath), _clock);
        manager.Changed += _changes.Add;
        return manager;
    }

    private static SystemHealth Health(params ComponentHealth[] components) => new() { Components = [.. components] };
    private static ComponentHealth Component(string name, bool online = true, string kind = "device", double errorRate = -1, double queueFill = -1) =>
        new() { Name = name, Kind = kind, Online = online, Reason = online ? "" : "offline", ErrorRate = errorRate, QueueFill = queueFill };

    [Fact]
    public void An_offline_device_fires_once_clears_when_back_and_both_are_kept_in_the_history()
    {
        using AlertManager alerts = NewManager();
        alerts.Observe(Health(Component("bulb")));
        Assert.Empty(_changes);

        alerts.Observe(Health(Component("bulb", online: false)));
        alerts.Observe(Health(Component("bulb", online: false)));
        AlertNotice fired = Assert.Single(_changes);
        Assert.Equal(("offline:bulb", AlertState.Firing, "warning"), (fired.Id, fired.State, fired.Severity));
        Assert.Single(alerts.Firing);

        _clock.Advance(TimeSpan.FromSeconds(30));
        alerts.Observe(Health(Component("bulb")));
        Assert.Equal(2, _changes.Count);
        Assert.Equal(AlertState.Cleared, _changes[1].State);
        Assert.Equal(_clock.GetUtcNow(), _changes[1].ClearedAt);
        Assert.Empty(alerts.Firing);

        AlertNotice kept = Assert.Single(alerts.History());
        Assert.Equal(AlertState.Cleared, kept.State);
        Assert.Equal(fired.FiredAt, kept.FiredAt);
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(DbPath) & (UnixFileMode)0x1FF);
    }

    [Fact]
    public void Error_rate_and_a_queue_near_full_fire_for_a_service_that_is_up()
    {
        using AlertManager alerts = NewManager();
        alerts.Observe(Health(Component("stt", kind: "service", errorRate: 0.2, queueFill: 0.95)));
        Assert.Equal(["error_rate:stt", "queue:stt"], _changes.Select(c => c.Id).Order());
        alerts.Observe(Health(Component("stt", kind: "service", errorRate: 0.01, queueFill: 0.1)));
        Assert.Equal(2, _changes.Count(c => c.State == AlertState.Cleared));
    }

    [Fact]
    public void A_budget_breached_repeatedly_fires_and_clears_when_the_window_has_passed()
    {
        using AlertManager alerts = NewManager();
        alerts.BudgetBreached("voice", "stt");
        alerts.BudgetBreached("voice", "stt");
        Assert.Empty(_changes);
        alerts.BudgetBreached("voice", "stt");
        AlertNotice fired = Assert.Single(_changes);
        Assert.Equal("budget:voice", fired.Id);
        Assert.Contains("stage 'stt'", fired.Message);

        _clock.Advance(TimeSpan.FromMinutes(2));
        alerts.Observe(Health());
        Assert.Equal(AlertState.Cleared, _changes[^1].State);
    }

    [Fact]
    public void A_burst_of_security_refusals_fires_and_names_the_reasons()
    {
        using AlertManager alerts = NewManager();
        for (int i = 0; i < 4; i++) alerts.SecurityEvent("bad_signature");
        Assert.Empty(_changes);
        alerts.SecurityEvent("acl_denied");
        AlertNotice fired = Assert.Single(_changes);
        Assert.Equal(("security:refusals", "critical"), (fired.Id, fired.Severity));
        Assert.Contains("bad_signature 4", fired.Message);
        Assert.Contains("acl_denied 1", fired.Message);
    }

    [Fact]
    public void A_restart_closes_alerts_left_open_and_retention_prunes_old_history()
    {
        using (AlertManager first = NewManager()) first.Observe(Health(Component("bulb", online: false)));
        _clock.Advance(TimeSpan.FromHours(1));
        using (AlertManager second = NewManager())
        {
            AlertNotice closed = Assert.Single(second.History());
            Assert.Equal(AlertState.Cleared, closed.State);
            Assert.Empty(second.Firing);
        }
        _clock.Advance(TimeSpan.FromDays(2));
        using AlertManager third = NewManager();
        Assert.Empty(third.History());
    }

    public void Dispose() => _dir.Dispose();
}
