using System.Diagnostics;
using System.Text;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Security;

namespace Alicia.Load;

/// <summary>
/// The gateway scenario's simulated devices: one <see cref="AliciaBus"/> per signing identity, each publishing signed
/// <see cref="DeviceData"/> on its own <c>alicia/devices/{id}/data</c>. The same code runs in the engine's process
/// (the baseline) and in the child process of <c>--devices-process child</c> (<see cref="GatewayDevicesChild"/>).
/// </summary>
internal sealed class GatewayDevices : IAsyncDisposable
{
    /// <summary>Warm-up messages per device at most (sequences 0..n-1; measured sequences start at the warm-up count).</summary>
    public const int MaxWarmup = 50;

    private readonly List<AliciaBus> _buses;
    private readonly string[] _topics;

    private GatewayDevices(List<AliciaBus> buses, string[] topics)
    {
        _buses = buses;
        _topics = topics;
    }

    public int Count => _buses.Count;

    /// <summary>The password each device signs in with (username = client id = identity).</summary>
    public static string Password(string id) => "pw-" + id;

    public static DeviceData Data(long sequence) => new() { Values = { ["seq"] = sequence, ["temperature"] = 21.5 } };

    /// <summary>Connects every identity over TCP, 20 at a time (1,000 devices connect in seconds; the list keeps the identities' order).</summary>
    public static async Task<GatewayDevices> ConnectAsync(BrokerEndpoint endpoint, IReadOnlyList<SigningIdentity> ids)
    {
        // Devices never receive: a verifier that trusts nobody, with a small replay filter.
        var quietVerifier = new EnvelopeVerifier(new TrustStore(), new VerifierOptions { ReplayCapacity = 1024 });
        var buses = new List<AliciaBus>(ids.Count);
        try
        {
            for (int first = 0; first < ids.Count; first += 20)
            {
                AliciaBus[] chunk = await Task.WhenAll(Enumerable.Range(first, Math.Min(20, ids.Count - first)).Select(i =>
                    AliciaBus.ConnectAsync(endpoint, ids[i], quietVerifier,
                        new BusOptions { ClientId = ids[i].Name, Username = ids[i].Name, Password = Encoding.UTF8.GetBytes(Password(ids[i].Name)) }).WaitAsync(TimeSpan.FromSeconds(30)))).ConfigureAwait(false);
                buses.AddRange(chunk);
            }
        }
        catch
        {
            foreach (AliciaBus bus in buses) await Bounded(bus.DisposeAsync()).ConfigureAwait(false);
            throw;
        }
        return new GatewayDevices(buses, [.. ids.Select(i => DeviceData.BuildTopic(i.Name))]);
    }

    /// <summary>Unmeasured publishes (sequences 0..min(warmup, 50)-1 per device), all devices at once; returns how many timed out.</summary>
    public async Task<long> WarmupAsync(int warmup, QualityOfService qos)
    {
        using var warmCts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        long warmFailed = 0;
        var publish = new PublishOptions { QualityOfService = qos };
        await Task.WhenAll(_buses.Select(async (bus, i) =>
        {
            for (int s = 0; s < Math.Min(warmup, MaxWarmup); s++)
            {
                // Unmeasured: on a crowded machine a PUBACK may time out (1,000 devices at once); counted, not fatal.
                try { await bus.PublishAsync(Data(s), publish with { Topic = _topics[i] }, warmCts.Token).ConfigureAwait(false); }
                catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or BusPublishException) { Interlocked.Increment(ref warmFailed); }
            }
        })).ConfigureAwait(false);
        return warmFailed;
    }

    /// <summary>
    /// The measured phase from <paramref name="t0"/> (a <see cref="Stopwatch"/> timestamp): every device publishes paced
    /// (<paramref name="rate"/> msg/s in total, spread evenly) or flat out (rate 0), awaiting each PUBACK, until the duration
    /// is over; sequences start at <paramref name="firstSequence"/>.
    /// </summary>
    public async Task<SendResult> SendAsync(long firstSequence, double rate, double durationSeconds, QualityOfService qos, long t0)
    {
        int deviceCount = _buses.Count;
        double interval = rate > 0 ? deviceCount / rate : 0;
        long sent = 0, failed = 0;
        string? firstError = null;
        long freq = Stopwatch.Frequency;
        long durationTicks = (long)(durationSeconds * freq);
        var publish = new PublishOptions { QualityOfService = qos };
        using var sendCts = new CancellationTokenSource(TimeSpan.FromSeconds(durationSeconds + 10));
        var workers = new List<Task>(deviceCount);
        for (int d = 0; d < deviceCount; d++)
        {
            AliciaBus bus = _buses[d];
            PublishOptions options = publish with { Topic = _topics[d] };
            long offset = interval > 0 ? (long)(interval * freq * d / deviceCount) : 0;
            workers.Add(Task.Run(async () =>
            {
                for (long k = 0; ; k++)
                {
                    long due = t0 + offset + (long)(k * interval * freq);
                    if (due - t0 >= durationTicks || Stopwatch.GetTimestamp() - t0 >= durationTicks) return;
                    if (interval > 0)
                    {
                        long wait = due - Stopwatch.GetTimestamp();
                        if (wait > freq / 2000) await Task.Delay(TimeSpan.FromSeconds((double)wait / freq), sendCts.Token).ConfigureAwait(false);
                    }
                    try
                    {
                        await bus.PublishAsync(Data(firstSequence + k), options, sendCts.Token).ConfigureAwait(false);
                        Interlocked.Increment(ref sent);
                    }
                    catch (OperationCanceledException) when (sendCts.IsCancellationRequested) { Interlocked.Increment(ref failed); return; }
                    catch (Exception e)
                    {
                        Interlocked.Increment(ref failed);
                        Interlocked.CompareExchange(ref firstError, $"{e.GetType().Name}: {e.Message}", null);
                    }
                }
            }));
        }
        try { await Task.WhenAll(workers).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        return new SendResult(Interlocked.Read(ref sent), Interlocked.Read(ref failed), firstError);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (AliciaBus bus in _buses) await Bounded(bus.DisposeAsync()).ConfigureAwait(false);
        _buses.Clear();
    }

    private static async Task Bounded(ValueTask task)
    {
        try { await task.AsTask().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false); }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException) { }
    }
}

/// <summary>What the devices sent in the measured phase (each PUBACK awaited), and the first error if any.</summary>
internal readonly record struct SendResult(long Sent, long Failed, string? FirstError);
