namespace Alicia.Engine.Bus;

/// <summary>The embedded broker's port is taken, typically by a Mosquitto already running on the machine.</summary>
public sealed class BrokerPortInUseException : Exception
{
    internal BrokerPortInUseException(string address, int port, Exception inner)
        : base($"{address}:{port} is already in use (often by a Mosquitto already running here). " +
               $"Use that broker as Alicia's external broker (--broker mqtt://{address}:{port}), or give the embedded broker another port (--port N).", inner)
    {
        Address = address;
        Port = port;
    }

    public string Address { get; }
    public int Port { get; }
}
