using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Monitoring;
using Alicia.Tools.Simulation;
using Microsoft.Extensions.Time.Testing;

namespace Alicia.Web.Tests;

public sealed class DeviceControlBudgetTests
{
    [Fact]
    public void A_command_is_timed_to_the_devices_echo_and_only_a_late_echo_breaches_the_budget()
    {
        var clock = new FakeTimeProvider();
        var budgets = new LatencyBudgetMonitor(new LatencyBudgets { DeviceControlMs = 100 });
        var watch = new DeviceControlWatch(budgets, clock);

        watch.Commanded("lamp", "trace-1");
        clock.Advance(TimeSpan.FromMilliseconds(60));
        Assert.Null(watch.Echoed("lamp"));

        watch.Commanded("lamp", "trace-2");
        clock.Advance(TimeSpan.FromMilliseconds(30));
        watch.Commanded("lamp", "trace-3"); // a second command while the first is pending: the first is still timed
        clock.Advance(TimeSpan.FromMilliseconds(120));
        BudgetExceeded breach = watch.Echoed("lamp")!;
        Assert.NotNull(breach);
        Assert.Equal(("device_control", "device_echo", 150.0, 100.0, "trace-2"), (breach.Budget, breach.Stage, breach.ElapsedMs, breach.BudgetMs, breach.TraceId));

        Assert.Null(watch.Echoed("lamp")); // no command pending: a report is not an echo
        Assert.Equal("lamp", DeviceControlWatch.DeviceOf(DeviceCommand.BuildTopic("lamp")));
    }

    [Fact]
    public void An_echo_dispatched_before_its_command_is_timed_from_the_commands_signed_timestamp()
    {
        var clock = new FakeTimeProvider();
        var budgets = new LatencyBudgetMonitor(new LatencyBudgets { DeviceControlMs = 100 });
        var watch = new DeviceControlWatch(budgets, clock);

        DateTimeOffset sent = clock.GetUtcNow();
        clock.Advance(TimeSpan.FromMilliseconds(250));
        Assert.Null(watch.Echoed("lamp")); // the report's subscription ran first
        clock.Advance(TimeSpan.FromMilliseconds(5));
        BudgetExceeded breach = watch.Commanded("lamp", "trace-9", sent)!;
        Assert.NotNull(breach);
        Assert.Equal((250.0, "trace-9"), (breach.ElapsedMs, breach.TraceId));

        // A report older than the command is not its echo: the command stays pending.
        Assert.Null(watch.Echoed("lamp"));
        clock.Advance(TimeSpan.FromMilliseconds(10));
        Assert.Null(watch.Commanded("lamp", "trace-10", clock.GetUtcNow()));
        clock.Advance(TimeSpan.FromMilliseconds(300));
        Assert.Equal(300.0, watch.Echoed("lamp")!.ElapsedMs);
    }

    [Fact]
    public async Task A_command_to_a_simulated_device_over_its_budget_publishes_budget_exceeded_naming_the_stage()
    {
        // An artificially tiny budget: any real round trip breaches it (no wall-clock assert).
        var engine = new ObservedEngine { ConfigureMonitoring = o => o.Budgets.DeviceControlMs = 1e-6 };
        await engine.InitializeAsync();
        try
        {
            await using SimulatedDevice lamp = await engine.DeviceAsync("budget-lamp");
            await using AliciaBus controller = await engine.Test.ClientAsync("budget-controller");
            var breached = new TaskCompletionSource<BudgetExceeded>(TaskCreationOptions.RunContinuationsAsynchronously);
            await controller.SubscribeAsync<BudgetExceeded>((m, _) =>
            {
                if (m.Data.Budget == "device_control") breached.TrySetResult(m.Data);
                return default;
            });
            var obeyed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lamp.CommandReceived += (_, _) => obeyed.TrySetResult();

            await engine.Engine.Bus.PublishAsync(new DeviceCommand { Command = "turn_on", Capability = "light" }, new PublishOptions { Topic = DeviceCommand.BuildTopic("budget-lamp") });

            await obeyed.Within();
            BudgetExceeded breach = await breached.Within();
            Assert.Equal("device_echo", breach.Stage);
            Assert.True(breach.ElapsedMs > breach.BudgetMs);
        }
        finally
        {
            await engine.DisposeAsync();
        }
    }
}
