using Alicia.Engine.Bus.InMemory;

namespace Alicia.Engine.Bus;

/// <summary>Where a bus client connects: the embedded broker in process, or a broker URL.</summary>
public sealed class BrokerEndpoint
{
    private BrokerEndpoint(InMemoryServerAdapter? inMemory, string host, int port, bool tls)
    {
        InMemory = inMemory;
        Host = host;
        Port = port;
        UseTls = tls;
    }

    internal InMemoryServerAdapter? InMemory { get; }
    public string Host { get; }
    public int Port { get; }
    public bool UseTls { get; }

    internal static BrokerEndpoint InProcess(InMemoryServerAdapter adapter) => new(adapter, "in-memory", 0, false);

    public static BrokerEndpoint Tcp(string host, int port, bool tls = false) => new(null, host, port, tls);

    /// <summary>Parses <c>mqtt://host[:port]</c> or <c>mqtts://host[:port]</c> (ports default to 1883 and 8883).</summary>
    public static BrokerEndpoint Parse(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("mqtt" or "mqtts") || string.IsNullOrEmpty(uri.Host))
            throw new FormatException($"'{url}' is not a broker URL: use mqtt://host:port or mqtts://host:port");
        bool tls = uri.Scheme == "mqtts";
        int port = uri.IsDefaultPort || uri.Port < 0 ? (tls ? 8883 : 1883) : uri.Port;
        return new BrokerEndpoint(null, uri.IdnHost, port, tls);
    }

    public override string ToString() => InMemory is not null ? "in-memory" : $"{(UseTls ? "mqtts" : "mqtt")}://{Host}:{Port}";
}
