using Alicia.Engine.Security.Gateway;
using System.Globalization;
using Alicia.Contracts.Messages;

namespace Alicia.Engine.Registry;

/// <summary>A refusal: the wire name of the field at fault and why.</summary>
internal readonly record struct ValidationError(string Field, string Reason)
{
    public override string ToString() => $"{Field}: {Reason}";
}

/// <summary>Checks a registration before anything is stored: required fields, known types, sizes, safe ids.</summary>
internal static class RegistrationValidator
{
    public static readonly IReadOnlySet<string> DeviceTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        "speaker", "sensor", "actuator", "controller", "service",
    };

    public const int MaxIdLength = 64;

    /// <summary>
    /// A device id is one topic segment: 1-64 of <c>[A-Za-z0-9_.:-]</c>, not starting with '_' (reserved) or '.'.
    /// That excludes MQTT wildcards, '/', NUL and whitespace.
    /// </summary>
    public static string? CheckId(string? id)
    {
        if (string.IsNullOrEmpty(id)) return "is required";
        if (id.Length > MaxIdLength) return $"is {id.Length} characters long; at most {MaxIdLength}";
        foreach (char c in id)
        {
            if (c is '/' or '+' or '#') return $"must not contain '{c}' (a device id is one topic segment without MQTT wildcards)";
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':'))
                return $"contains '{(char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString())}'; use letters, digits, '-', '_', '.', ':'";
        }
        if (id[0] is '_' or '.') return "must not start with '_' or '.'";
        return null;
    }

    public static ValidationError? Validate(DeviceRegistration registration, RegistryOptions options)
    {
        if (CheckId(registration.DeviceId) is { } idError) return new("device_id", idError);
        if (string.IsNullOrEmpty(registration.DeviceType)) return new("device_type", "is required");
        if (!DeviceTypes.Contains(registration.DeviceType))
            return new("device_type", $"'{Clip(registration.DeviceType)}' is not a known type ({string.Join(" | ", DeviceTypes)})");

        DeviceCapabilities caps = registration.Capabilities;
        if (caps is null || caps.Capabilities is null) return new("capabilities", "is required");
        if (caps.Capabilities.Count == 0) return new("capabilities.capabilities", "declares no capability; at least one is required");
        if (caps.Capabilities.Count > options.MaxCapabilities)
            return new("capabilities.capabilities", $"declares {caps.Capabilities.Count} capabilities; at most {options.MaxCapabilities}");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < caps.Capabilities.Count; i++)
        {
            Capability c = caps.Capabilities[i];
            string at = $"capabilities.capabilities[{i}]";
            if (c is null) return new(at, "must not be null");
            if (string.IsNullOrEmpty(c.Name)) return new(at + ".name", "is required");
            if (c.Name.Length > 64 || !c.Name.All(ch => char.IsAsciiLetterLower(ch) || char.IsAsciiDigit(ch) || ch == '_'))
                return new(at + ".name", $"'{Clip(c.Name)}' must be 1-64 of [a-z0-9_]");
            if (!names.Add(c.Name)) return new(at + ".name", $"'{c.Name}' is declared twice");
            if (string.IsNullOrEmpty(c.Version)) return new(at + ".version", "is required");
            if (c.Parameters is { Count: var n } && n > options.MaxParameters)
                return new(at + ".parameters", $"declares {n} parameters; at most {options.MaxParameters}");
            for (int p = 0; p < (c.Parameters?.Count ?? 0); p++)
                if (string.IsNullOrEmpty(c.Parameters![p]?.Name)) return new($"{at}.parameters[{p}].name", "is required");
        }

        CapabilityConstraints? constraints = caps.Constraints;
        if (constraints is not null)
        {
            if (constraints.MaxConnections < 0) return new("capabilities.constraints.max_connections", "must not be negative");
            if (!string.IsNullOrEmpty(constraints.RateLimit) && !RateLimit.TryParse(constraints.RateLimit, out _))
                return new("capabilities.constraints.rate_limit", $"'{Clip(constraints.RateLimit)}' is not N/second, N/minute or N/hour");
            if (!string.IsNullOrEmpty(constraints.LatencyRequirement) && !TryParseLatency(constraints.LatencyRequirement, out _))
                return new("capabilities.constraints.latency_requirement", $"'{Clip(constraints.LatencyRequirement)}' is not a duration like 50ms or 2s");
        }

        if (registration.Endpoints is { Count: var e } && e > options.MaxEndpoints)
            return new("endpoints", $"declares {e} endpoints; at most {options.MaxEndpoints}");
        if (registration.Metadata is null) return new("metadata", "is required");
        string location = registration.Metadata.Location ?? "";
        if (location.Length > 0 && CheckId(location) is { } locError) return new("metadata.location", locError);
        if (registration.DeviceType != "service" && location.Length == 0)
            return new("metadata.location", "is required for a device (capability routing goes by place); only services may omit it");
        return null;
    }

    public static bool TryParseLatency(string text, out TimeSpan latency)
    {
        latency = default;
        ReadOnlySpan<char> s = text.AsSpan().Trim();
        double scale;
        if (s.EndsWith("ms", StringComparison.Ordinal)) { scale = 1; s = s[..^2]; }
        else if (s.EndsWith("s", StringComparison.Ordinal)) { scale = 1000; s = s[..^1]; }
        else return false;
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || v < 0) return false;
        latency = TimeSpan.FromMilliseconds(v * scale);
        return true;
    }

    private static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
