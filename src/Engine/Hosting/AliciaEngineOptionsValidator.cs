using System.Net;
using Alicia.Engine.Bus;
using Alicia.Engine.Security;
using Alicia.Engine.Security.Gateway;
using Microsoft.Extensions.Options;

namespace Alicia.Engine.Hosting;

/// <summary>
/// Checks <see cref="AliciaEngineOptions"/> when the host starts; every failure names its configuration key
/// (<c>Broker:Port</c>), so the message tells the user what to change.
/// </summary>
internal sealed class AliciaEngineOptionsValidator : IValidateOptions<AliciaEngineOptions>
{
    public ValidateOptionsResult Validate(string? name, AliciaEngineOptions options)
    {
        List<string> failures = Failures(options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Every problem, each starting with the key at fault.</summary>
    public static List<string> Failures(AliciaEngineOptions o)
    {
        var f = new List<string>();
        if (!IdentityNames.IsValid(o.Name)) f.Add($"Name: '{o.Name}' is not a valid identity name (1-{IdentityNames.MaxLength} of a-z A-Z 0-9 - _ .)");
        if (string.IsNullOrWhiteSpace(o.KeyDirectory)) f.Add("KeyDirectory: must not be empty");
        if (string.IsNullOrWhiteSpace(o.DataDirectory)) f.Add("DataDirectory: must not be empty");
        if (!string.IsNullOrWhiteSpace(o.BrokerUrl))
        {
            try { BrokerEndpoint.Parse(o.BrokerUrl); }
            catch (FormatException e) { f.Add($"BrokerUrl: {e.Message}"); }
        }
        if (o.Broker.Port is < 0 or > 65535) f.Add($"Broker:Port: {o.Broker.Port} is not a TCP port (0-65535)");
        if (!IPAddress.TryParse(o.Broker.ListenAddress, out _) && o.Broker.ListenAddress != "localhost")
            f.Add($"Broker:ListenAddress: '{o.Broker.ListenAddress}' is not an IP address");
        if (o.Broker.MaxPendingMessagesPerClient is < 1 or > 10_000_000) f.Add("Broker:MaxPendingMessagesPerClient: must be between 1 and 10000000");
        if (o.Broker.BackpressureWatermark < 1 || o.Broker.BackpressureWatermark > o.Broker.MaxPendingMessagesPerClient)
            f.Add($"Broker:BackpressureWatermark: must be between 1 and Broker:MaxPendingMessagesPerClient ({o.Broker.MaxPendingMessagesPerClient})");
        if (o.Security.MaxClockSkew <= TimeSpan.Zero) f.Add("Security:MaxClockSkew: must be positive (e.g. 00:00:30)");
        if (o.Security.MaxMessageBytes < 1024) f.Add("Security:MaxMessageBytes: must be at least 1024");
        if (o.Security.ReplayCapacity < 1024) f.Add("Security:ReplayCapacity: must be at least 1024");
        if (o.HeartbeatInterval < TimeSpan.FromMilliseconds(100)) f.Add("HeartbeatInterval: must be at least 00:00:00.1");
        if (o.Bus.RequestTimeout <= TimeSpan.Zero) f.Add("Bus:RequestTimeout: must be positive");
        if (!RateLimit.TryParse(o.Gateway.DefaultRateLimit, out _)) f.Add($"Gateway:DefaultRateLimit: '{o.Gateway.DefaultRateLimit}' is not a rate such as 600/minute");
        return f;
    }
}
