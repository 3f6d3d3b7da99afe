using System.Collections.Concurrent;
using MQTTnet.Server;

namespace Alicia.Engine.Bus.Transport;

/// <summary>
/// Each subscriber's MQTTnet session queue, taken from its subscription, so that its transport can see how many
/// messages wait behind the one it is writing and leave that one in its buffer for the next to join: one socket send
/// for a burst instead of one per message, and none held back once the queue is empty.
/// </summary>
internal sealed class SubscriberQueues
{
    private readonly ConcurrentDictionary<string, MqttSessionStatus> _sessions = new(StringComparer.Ordinal);

    public void Attach(MqttServer server)
    {
        server.InterceptingSubscriptionAsync += e =>
        {
            _sessions[e.ClientId] = e.Session;
            return Task.CompletedTask;
        };
        server.ClientDisconnectedAsync += e =>
        {
            _sessions.TryRemove(e.ClientId, out _);
            return Task.CompletedTask;
        };
    }

    /// <summary>
    /// Reads how many messages the session of <paramref name="clientId"/>'s latest subscription has queued (its sender
    /// loop takes each off before writing it), or null before it subscribes. The adapter keeps it for its connection.
    /// </summary>
    public Func<long>? QueuedBehind(string clientId) =>
        _sessions.TryGetValue(clientId, out MqttSessionStatus? session) ? () => session.PendingApplicationMessagesCount : null;
}
