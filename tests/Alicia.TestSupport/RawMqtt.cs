using Alicia.Engine.Bus;
using Alicia.TestSupport.InMemory;
using MQTTnet;

namespace Alicia.TestSupport;

/// <summary>Plain MQTTnet clients, for what a signed bus client never does: eavesdrop, send raw bytes, stand in for Home Assistant.</summary>
public static class RawMqtt
{
    /// <summary>Options for <paramref name="endpoint"/>: TCP, or the embedded broker's in-process transport.</summary>
    public static MqttClientOptionsBuilder Options(BrokerEndpoint endpoint, string? clientId = null)
    {
        var options = new MqttClientOptionsBuilder();
        if (clientId is not null) options.WithClientId(clientId);
        if (endpoint.InMemory is { } adapter) options.WithTcpServer("in-memory", 1883).WithStreamProvider(new InMemoryStreamProvider(adapter));
        else options.WithTcpServer(endpoint.Host, endpoint.Port);
        return options;
    }

    /// <summary>A client connected to <paramref name="endpoint"/>; <paramref name="configure"/> adds credentials, a protocol version ...</summary>
    public static async Task<IMqttClient> ConnectAsync(BrokerEndpoint endpoint, string? clientId = null, Action<MqttClientOptionsBuilder>? configure = null)
    {
        MqttClientOptionsBuilder options = Options(endpoint, clientId);
        configure?.Invoke(options);
        IMqttClient client = new MqttClientFactory().CreateMqttClient();
        try
        {
            await client.ConnectAsync(options.Build());
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Disconnects (if still connected) and disposes.</summary>
    public static async Task CloseAsync(this IMqttClient client)
    {
        if (client.IsConnected) await client.DisconnectAsync();
        client.Dispose();
    }
}
