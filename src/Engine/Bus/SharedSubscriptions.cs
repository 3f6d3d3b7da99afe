using System.Buffers;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Server;

namespace Alicia.Engine.Bus;

/// <summary>
/// MQTT 5 shared subscriptions (<c>$share/{group}/{filter}</c>) for the embedded broker, which refuses
/// them itself. SUBSCRIBE and UNSUBSCRIBE packets are rewritten before the broker sees them (the
/// <c>$share/{group}/</c> prefix is stripped and the membership recorded); then, for each message, only
/// one member of each group is allowed to enqueue it. The member is chosen from a hash of the payload,
/// so every receiver of one message agrees on the choice without shared state, and distinct messages
/// spread across the group. Services use the same <c>$share/...</c> filters against Mosquitto or EMQX.
/// </summary>
internal sealed class SharedSubscriptions
{
    private const string Prefix = "$share/";
    private readonly Lock _lock = new();
    private Group[] _groups = [];

    private sealed record Group(string Name, string Filter, string[] Members);

    public void Attach(MqttServer server)
    {
        server.ClientDisconnectedAsync += e => { RemoveClient(e.ClientId); return Task.CompletedTask; };
    }

    public static bool TryParse(string filter, out string group, out string topicFilter)
    {
        group = topicFilter = "";
        if (!filter.StartsWith(Prefix, StringComparison.Ordinal)) return false;
        int slash = filter.IndexOf('/', Prefix.Length);
        if (slash <= Prefix.Length || slash == filter.Length - 1) return false;
        group = filter[Prefix.Length..slash];
        topicFilter = filter[(slash + 1)..];
        return group.IndexOfAny(['+', '#']) < 0;
    }

    /// <summary>Rewrites a SUBSCRIBE or UNSUBSCRIBE as it is decoded (<see cref="Transport.PacketTaps.Received"/>), before MQTTnet refuses <c>$share</c>.</summary>
    public void OnReceived(string clientId, MqttPacket packet)
    {
        switch (packet)
        {
            case MqttSubscribePacket subscribe:
                foreach (MqttTopicFilter f in subscribe.TopicFilters)
                {
                    if (TryParse(f.Topic, out string group, out string filter))
                    {
                        Add(group, filter, clientId);
                        f.Topic = filter;
                    }
                }
                break;
            case MqttUnsubscribePacket unsubscribe:
                for (int i = 0; i < unsubscribe.TopicFilters.Count; i++)
                {
                    if (TryParse(unsubscribe.TopicFilters[i], out string group, out string filter))
                    {
                        Remove(group, filter, clientId);
                        unsubscribe.TopicFilters[i] = filter;
                    }
                }
                break;
        }
    }

    /// <summary>
    /// MQTTnet's CONNACK says Shared Subscription Available = 0 because it refuses <c>$share</c> itself; this broker
    /// implements them around it, so its CONNACK says so (<see cref="Transport.PacketTaps.Sending"/>).
    /// </summary>
    public static void OnSending(string clientId, MqttPacket packet)
    {
        if (packet is MqttConnAckPacket ack) ack.SharedSubscriptionAvailable = true;
    }

    /// <summary>False when <paramref name="receiver"/> shares the message's subscription with a group member that was chosen instead.</summary>
    public bool ShouldDeliver(string receiver, MqttApplicationMessage message)
    {
        Group[] groups = Volatile.Read(ref _groups);
        if (groups.Length == 0) return true;
        int? hash = null;
        foreach (Group g in groups)
        {
            if (Array.IndexOf(g.Members, receiver) < 0) continue;
            if (MqttTopicFilterComparer.Compare(message.Topic, g.Filter) != MqttTopicFilterCompareResult.IsMatch) continue;
            hash ??= PayloadHash(message.Payload);
            string chosen = g.Members[(int)((uint)hash.Value % (uint)g.Members.Length)];
            if (!string.Equals(chosen, receiver, StringComparison.Ordinal)) return false;
        }
        return true;
    }

    private static int PayloadHash(ReadOnlySequence<byte> payload)
    {
        // The first 64 bytes hold the envelope's message_id, which differs per message.
        Span<byte> head = stackalloc byte[64];
        ReadOnlySequence<byte> slice = payload.Length > head.Length ? payload.Slice(0, head.Length) : payload;
        slice.CopyTo(head);
        var hasher = new HashCode();
        hasher.AddBytes(head[..(int)slice.Length]);
        return hasher.ToHashCode();
    }

    private void Add(string group, string filter, string client) => Update(group, filter, members => members.Contains(client) ? members : [.. members, client]);

    private void Remove(string group, string filter, string client) => Update(group, filter, members => [.. members.Where(m => m != client)]);

    private void Update(string group, string filter, Func<string[], string[]> change)
    {
        lock (_lock)
        {
            List<Group> groups = [.. _groups];
            int i = groups.FindIndex(g => g.Name == group && g.Filter == filter);
            string[] members = change(i >= 0 ? groups[i].Members : []);
            Array.Sort(members, StringComparer.Ordinal);
            if (i >= 0) groups.RemoveAt(i);
            if (members.Length > 0) groups.Add(new Group(group, filter, members));
            Volatile.Write(ref _groups, [.. groups]);
        }
    }

    private void RemoveClient(string client)
    {
        lock (_lock)
        {
            Group[] groups = [.. _groups
                .Select(g => g with { Members = [.. g.Members.Where(m => m != client)] })
                .Where(g => g.Members.Length > 0)];
            Volatile.Write(ref _groups, groups);
        }
    }
}
