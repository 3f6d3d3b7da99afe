using System.Globalization;

namespace Alicia.Engine.Registry;

/// <summary>A token bucket for a device's <c>rate_limit</c> constraint (<c>10/second</c>, <c>100/minute</c>).</summary>
public sealed class RateLimit
{
    private readonly Lock _lock = new();
    private double _tokens;
    private long _last;

    private RateLimit(int count, TimeSpan per)
    {
        Count = count;
        Per = per;
        _tokens = count;
    }

    public int Count { get; }
    public TimeSpan Per { get; }

    public static RateLimit? TryParse(string text)
    {
        int slash = text.IndexOf('/');
        if (slash <= 0) return null;
        if (!int.TryParse(text.AsSpan(0, slash).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count <= 0) return null;
        TimeSpan? per = text[(slash + 1)..].Trim().ToLowerInvariant() switch
        {
            "s" or "sec" or "second" => TimeSpan.FromSeconds(1),
            "m" or "min" or "minute" => TimeSpan.FromMinutes(1),
            "h" or "hour" => TimeSpan.FromHours(1),
            _ => null,
        };
        return per is { } p ? new RateLimit(count, p) : null;
    }

    /// <summary>Takes one token if there is one (timestamps from <see cref="TimeProvider.GetTimestamp"/>).</summary>
    public bool TryTake(TimeProvider clock)
    {
        long now = clock.GetTimestamp();
        lock (_lock)
        {
            if (_last != 0)
            {
                double elapsed = (now - _last) / (double)clock.TimestampFrequency;
                _tokens = Math.Min(Count, _tokens + elapsed * Count / Per.TotalSeconds);
            }
            _last = now;
            if (_tokens < 1) return false;
            _tokens -= 1;
            return true;
        }
    }
}
