namespace Alicia.Engine.Bus;

/// <summary>The embedded broker's port is taken, typically by a Mosquitto already running on the machine.</summary>
public sealed class BrokerPortInUseException(string address, int port, Exception inner)
    : Exception($"{address}:{port} is already in use (often by a Mosquitto already running here). " +
                $"Use that broker as Alicia's external broker (--broker mqtt://{address}:{port}), or give the embedded broker another port (--port N).", inner)
{
    public string Address { get; } = address;
    public int Port { get; } = port;
}
