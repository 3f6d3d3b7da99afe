namespace Alicia.Engine.Security.Gateway;

/// <summary>What the gateway knows about one connected client; kept in the MQTT session's items.</summary>
internal sealed class ClientContext(IdentityRecord identity, AuthenticationMethod method, TokenBucket? bucket, string address = "in-process")
{
    /// <summary>Where the client connected from (an address ban applies to anonymous clients).</summary>
    public string Address { get; } = address;

    public const string SessionKey = "alicia.gateway.client";

    public IdentityRecord Identity { get; } = identity;
    public AuthenticationMethod Method { get; } = method;
    public IReadOnlyList<AclGrant> Grants { get; } = method == AuthenticationMethod.Anonymous
        ? [new AclGrant(AclAction.Subscribe, "alicia/#", "anonymous-read-only")]
        : AclPolicy.GrantsFor(identity);
    /// <summary>Its publish rate; replaced once when it connected before the registered limits were known.</summary>
    public TokenBucket? Bucket { get; set; } = bucket;

    /// <summary>False while <see cref="Bucket"/> is the default standing in for a registered limit not yet loaded.</summary>
    public bool RateSettled { get; set; } = true;

    /// <summary>Rate refusals in the current one-second window; past a threshold the client is disconnected (0x96).</summary>
    public int RateRefusalsInWindow;

    public long RateWindowStart;

    /// <summary>Counts a rate refusal; true the first time the window's count reaches <paramref name="threshold"/>.</summary>
    public bool CountRateRefusal(long now, long windowTicks, int threshold)
    {
        lock (this)
        {
            if (now - RateWindowStart > windowTicks)
            {
                RateWindowStart = now;
                RateRefusalsInWindow = 0;
            }
            return ++RateRefusalsInWindow == threshold;
        }
    }

    private readonly Queue<long> _denied = new();
    private bool _deniedReported;

    /// <summary>Counts a refused publish; true the first time <paramref name="limit"/> of them fall within <paramref name="windowTicks"/>.</summary>
    public bool CountDenied(long now, long windowTicks, int limit)
    {
        lock (_denied)
        {
            while (_denied.Count > 0 && now - _denied.Peek() > windowTicks) _denied.Dequeue();
            if (_denied.Count < limit) _denied.Enqueue(now);
            if (_denied.Count < limit || _deniedReported) return false;
            _deniedReported = true;
            return true;
        }
    }

    public bool IsEngine => Method == AuthenticationMethod.InProcess;
}

internal enum AuthenticationMethod
{
    InProcess,
    Certificate,
    Password,
    Anonymous,
}
