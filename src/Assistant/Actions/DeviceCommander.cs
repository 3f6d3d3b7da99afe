using System.Globalization;
using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Registry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alicia.Assistant.Actions;

/// <summary>How one device's command ended.</summary>
internal enum CommandStatus
{
    Confirmed,
    NoEcho,
    Offline,
    Limited,
}

internal sealed record DeviceOutcome(string DeviceId, CommandStatus Status, int Attempts, string RetriedFrom, double ElapsedMs)
{
    public bool Confirmed => Status == CommandStatus.Confirmed;
}

/// <summary>
/// The actuator control service: a command goes to the device the routing chose (signed, addressed as the registry's
/// capability routing addresses it), and counts as done only when the device's status echo (its <c>data</c> with the
/// commanded values) arrives within the timeout. When the chosen device does not confirm and the route allows it
/// (any device with the capability in the room would do), one retry goes to another live device there.
/// </summary>
internal sealed class DeviceCommander(Func<AliciaBus> bus, CapabilityRouter router, DeviceStateCache cache,
    TimeSpan confirmTimeout, TimeProvider? clock = null, ILogger? logger = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    public TimeSpan ConfirmTimeout => confirmTimeout;

    public async Task<DeviceOutcome[]> ExecuteAsync(IReadOnlyList<DeviceRecord> devices, string capability, string room, string command,
        IReadOnlyDictionary<string, string> parameters, bool allowElsewhere, string requestedBy, CancellationToken cancellationToken)
    {
        var tasks = new Task<DeviceOutcome>[devices.Count];
        for (int i = 0; i < devices.Count; i++)
            tasks[i] = RunAsync(devices[i], capability, room, command, parameters, allowElsewhere, requestedBy, cancellationToken);
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    private async Task<DeviceOutcome> RunAsync(DeviceRecord device, string capability, string room, string command,
        IReadOnlyDictionary<string, string> parameters, bool allowElsewhere, string requestedBy, CancellationToken cancellationToken)
    {
        long start = _clock.GetTimestamp();
        CommandStatus status = await SendAndConfirmAsync(device, capability, command, parameters, requestedBy, cancellationToken).ConfigureAwait(false);
        if (status == CommandStatus.Confirmed || !allowElsewhere)
            return new DeviceOutcome(device.DeviceId, status, 1, "", _clock.GetElapsedTime(start).TotalMilliseconds);

        RouteDecision other = router.Resolve(capability, room, RouteFallback.None, exclude: device.DeviceId);
        if (!other.Routed)
            return new DeviceOutcome(device.DeviceId, status, 1, "", _clock.GetElapsedTime(start).TotalMilliseconds);
        DeviceRecord next = other.Devices[0];
        _logger.LogWarning("{Device} did not confirm {Command} ({Status}); retrying once on {Other}", device.DeviceId, command, status, next.DeviceId);
        CommandStatus retried = await SendAndConfirmAsync(next, capability, command, parameters, requestedBy, cancellationToken, reserved: true).ConfigureAwait(false);
        return new DeviceOutcome(next.DeviceId, retried, 2, device.DeviceId, _clock.GetElapsedTime(start).TotalMilliseconds);
    }

    private async Task<CommandStatus> SendAndConfirmAsync(DeviceRecord device, string capability, string command, IReadOnlyDictionary<string, string> parameters,
        string requestedBy, CancellationToken cancellationToken, bool reserved = false)
    {
        if (!device.IsLive) return CommandStatus.Offline;
        // The same rate limit capability routing enforces (a token the router already took when it chose the device).
        if (!reserved && device.Bucket(_clock) is { } bucket && !bucket.TryTake()) return CommandStatus.Limited;

        using EchoWaiter echo = cache.Expect(device.DeviceId, Expected(command, parameters));
        var deviceCommand = new DeviceCommand { Command = command, Capability = capability, Parameters = new Dictionary<string, string>(parameters) };
        await bus().PublishAsync(deviceCommand, new PublishOptions
        {
            Topic = DeviceCommand.BuildTopic(device.DeviceId),
            Destination = device.IsPlain ? EnvelopeHeader.Broadcast : device.Owner,
            Json = device.IsPlain,
            Metadata = new Dictionary<string, string> { ["requested_by"] = requestedBy },
        }, cancellationToken).ConfigureAwait(false);
        try
        {
            await echo.Completion.Task.WaitAsync(confirmTimeout, _clock, cancellationToken).ConfigureAwait(false);
            return CommandStatus.Confirmed;
        }
        catch (TimeoutException)
        {
            return CommandStatus.NoEcho;
        }
    }

    /// <summary>What the echo must report: <c>on</c> after turn_on/turn_off, the brightness, colour temperature and volume asked for.</summary>
    internal static Dictionary<string, double> Expected(string command, IReadOnlyDictionary<string, string> parameters)
    {
        var expected = new Dictionary<string, double>(StringComparer.Ordinal);
        if (command is "turn_on" or "on") expected["on"] = 1;
        else if (command is "turn_off" or "off") expected["on"] = 0;
        if (parameters.TryGetValue("brightness", out string? b) && double.TryParse(b, NumberStyles.Float, CultureInfo.InvariantCulture, out double brightness))
            expected["brightness"] = brightness;
        if (parameters.TryGetValue("color_temp_kelvin", out string? k) && double.TryParse(k, NumberStyles.Float, CultureInfo.InvariantCulture, out double kelvin))
            expected["color_temp_kelvin"] = kelvin;
        if (parameters.TryGetValue("volume", out string? v) && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double volume))
            expected["volume"] = volume;
        return expected;
    }
}
