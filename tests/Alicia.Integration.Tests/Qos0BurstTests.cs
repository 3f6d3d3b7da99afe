using System.Diagnostics.Metrics;
using Alicia.Engine.Bus;
using MQTTnet.Server;

namespace Alicia.Integration.Tests;

/// <summary>
/// Goal 2 of issue 14 with clients nobody here wrote: a QoS 0 burst from <c>mosquitto_pub -l</c> (one
/// message per stdin line) through the embedded broker (no gateway) to a <c>mosquitto_sub</c>. A
/// subscriber that keeps up loses nothing; one that is stopped (SIGSTOP) loses messages only past the
/// queue cap, and every loss is counted. No clocks: the test waits for the broker to have handled
/// every message for the subscriber, then for the subscriber to have printed what was not dropped.
/// </summary>
public sealed class Qos0BurstTests
{
    private const int PayloadBytes = 256;
    private const string Topic = "bench/qos0/burst";

    /// <summary>
    /// Raises <see cref="All"/> once the broker has queued (MQTTnet's enqueued event) or dropped (the broker's drop
    /// counter: a drop at the cap is refused before MQTTnet queues it) <paramref name="total"/> messages for <paramref name="receiver"/>.
    /// </summary>
    private sealed class HandledCounter(string receiver, int total) : IDisposable
    {
        private readonly MeterListener _drops = new();
        private int _handled;
        public TaskCompletionSource All { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Attach(EmbeddedBroker broker)
        {
            _drops.InstrumentPublished = (i, l) => { if (i.Meter == broker.Metrics.Meter && i.Name == "alicia.broker.qos0.dropped") l.EnableMeasurementEvents(i); };
            _drops.SetMeasurementEventCallback<long>((_, n, _, _) => Count((int)n));
            _drops.Start();
            broker.Configuring += server => server.ApplicationMessageEnqueuedOrDroppedAsync += e =>
            {
                if (e.ReceiverClientId == receiver && !e.IsDropped) Count(1);
                return Task.CompletedTask;
            };
        }

        private void Count(int n)
        {
            if (Interlocked.Add(ref _handled, n) == total) All.TrySetResult();
        }

        public void Dispose() => _drops.Dispose();
    }

    private static async Task<(long Dropped, int Received)> BurstAsync(int total, int maxPending, bool stopSubscriber)
    {
        using var dir = new TempDirectory();
        string lines = Path.Combine(dir.Path, "burst.txt");
        // Distinct lines of exactly 256 bytes (the newline is not part of the payload).
        await File.WriteAllLinesAsync(lines, Enumerable.Range(0, total).Select(i => i.ToString("D8").PadRight(PayloadBytes, 'x')));

        await using var broker = new EmbeddedBroker(new EmbeddedBrokerOptions { Port = 0, MaxPendingMessagesPerClient = maxPending, BackpressureWatermark = Math.Min(256, maxPending) });
        string subscriberId = "burst-sub-" + Guid.NewGuid().ToString("N")[..6];
        using var handled = new HandledCounter(subscriberId, total);
        handled.Attach(broker);
        await broker.StartAsync();
        string port = broker.TcpEndPoint!.Port.ToString();

        // -F %l prints each payload's length: one short line per message.
        await using ChildProcess subscriber = ChildProcess.Start("stdbuf", ["-oL", "mosquitto_sub", "-d", "-h", "127.0.0.1", "-p", port, "-i", subscriberId, "-V", "mqttv5", "-q", "0", "-t", Topic, "-F", "%l"]);
        await subscriber.WaitForLineAsync(l => l.StartsWith("Subscribed (mid:", StringComparison.Ordinal));
        if (stopSubscriber) Assert.Equal(0, (await ChildProcess.RunAsync("kill", ["-STOP", subscriber.Id.ToString()])).ExitCode);

        ProcessResult published = await ChildProcess.RunAsync("sh", ["-c", $"mosquitto_pub -h 127.0.0.1 -p {port} -i burst-pub -V mqttv5 -q 0 -t {Topic} -l < '{lines}'"], TimeSpan.FromSeconds(120));
        Assert.True(published.ExitCode == 0, published.Output);
        await handled.All.Within(TimeSpan.FromSeconds(120));
        long dropped = broker.Metrics.Qos0DroppedCount;

        if (stopSubscriber) Assert.Equal(0, (await ChildProcess.RunAsync("kill", ["-CONT", subscriber.Id.ToString()])).ExitCode);
        int expected = total - (int)dropped, received = 0;
        if (expected > 0) await subscriber.WaitForLineAsync(l => l == "256" && ++received == expected, TimeSpan.FromSeconds(120));
        return (dropped, received);
    }

    [Fact]
    public async Task A_subscriber_that_keeps_up_gets_a_30k_qos0_burst_whole()
    {
        const int total = 30_000;
        (long dropped, int received) = await BurstAsync(total, new EmbeddedBrokerOptions().MaxPendingMessagesPerClient, stopSubscriber: false);
        Assert.Equal(0, dropped);
        Assert.Equal(total, received);
    }

    [Fact]
    public async Task A_stopped_subscriber_loses_messages_past_the_queue_cap_and_each_loss_is_counted()
    {
        // 40,000 × 256 B is more than the loopback socket buffers of a reader that reads nothing hold,
        // so the broker's queue (capped at 100) really overflows.
        const int total = 40_000;
        (long dropped, int received) = await BurstAsync(total, maxPending: 100, stopSubscriber: true);
        Assert.True(dropped > 0, "nothing was dropped although the subscriber was stopped");
        Assert.Equal(total, received + dropped);
    }
}
