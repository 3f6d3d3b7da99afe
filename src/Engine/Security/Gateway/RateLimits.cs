using System.Globalization;

namespace Alicia.Engine.Security.Gateway;

/// <summary>A rate such as <c>100/minute</c>, <c>10/second</c> or <c>5000/hour</c>.</summary>
internal readonly record struct RateLimit(double Count, TimeSpan Per)
{
    public double PerSecond => Count / Per.TotalSeconds;

    public static bool TryParse(string? text, out RateLimit limit)
    {
        limit = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        int slash = text.IndexOf('/');
        if (slash <= 0) return false;
        if (!double.TryParse(text.AsSpan(0, slash), NumberStyles.Float, CultureInfo.InvariantCulture, out double count) || count <= 0) return false;
        TimeSpan? per = text[(slash + 1)..].Trim().ToLowerInvariant() switch
        {
            "s" or "sec" or "second" => TimeSpan.FromSeconds(1),
            "m" or "min" or "minute" => TimeSpan.FromMinutes(1),
            "h" or "hour" => TimeSpan.FromHours(1),
            _ => null,
        };
        if (per is null) return false;
        limit = new RateLimit(count, per.Value);
        return true;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Count:0.##}/{(Per == TimeSpan.FromSeconds(1) ? "second" : Per == TimeSpan.FromMinutes(1) ? "minute" : "hour")}");
}

/// <summary>A token bucket: a steady rate plus a burst allowance. Thread-safe, allocation-free.</summary>
internal sealed class TokenBucket(RateLimit limit, int burst, TimeProvider clock)
{
    private readonly Lock _lock = new();
    private readonly double _capacity = Math.Max(1, burst);
    private readonly double _perTick = limit.PerSecond / clock.TimestampFrequency;
    private double _tokens = Math.Max(1, burst);
    private long _last = clock.GetTimestamp();

    public RateLimit Limit { get; } = limit;

    public bool TryTake()
    {
        long now = clock.GetTimestamp();
        lock (_lock)
        {
            _tokens = Math.Min(_capacity, _tokens + (now - _last) * _perTick);
            _last = now;
            if (_tokens < 1) return false;
            _tokens -= 1;
            return true;
        }
    }
}
