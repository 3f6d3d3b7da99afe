using System.Collections.Concurrent;
using Alicia.Engine.Monitoring;
using Microsoft.Extensions.Logging;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace Alicia.Engine.Bus;

/// <summary>
/// Keeps the embedded broker from losing QoS 1 messages. MQTTnet's server acknowledges a publish as
/// soon as it is queued and, when a subscriber's queue is full, drops messages silently. Here each
/// subscriber's outstanding messages are counted: +1 when a message is let into its queue (before MQTTnet
/// queues it, so its sender loop can never write it before it was counted), -1 again if MQTTnet drops it; -1 when it is
/// written to it at QoS 0 (the subscription's QoS decides, not the publisher's), or when the subscriber
/// acknowledges it (PUBACK) at QoS 1+, so messages buffered in the pipe or in the client library count
/// too. When the count reaches the watermark, a QoS 1+ publish to it waits. The wait happens inside the
/// publisher's receive loop, so the publisher's own PUBACKs slow down and its in-flight window throttles
/// it: backpressure instead of loss, and a bounded queue instead of unbounded latency. QoS 0 is never
/// held back; what the hard queue cap drops is refused here and counted, by QoS, before MQTTnet's own cap could drop
/// it unseen (so MQTTnet's per-message enqueued-or-dropped event stays off). The embedded broker keeps no session
/// past its connection (MQTTnet's persistent sessions are off), so every queue belongs to a connected client.
/// </summary>
internal sealed class BrokerFlowControl(EmbeddedBrokerOptions options, BusMetrics metrics, ILogger logger)
{
    private readonly ConcurrentDictionary<string, ClientQueue> _queues = new(StringComparer.Ordinal);
    private readonly LogThrottle _qos0DropLog = new(logger, "QoS 0 drops from full subscriber queues", perSecond: 1);

    private sealed class ClientQueue
    {
        public int Pending;
        public int WaiterCount;
        /// <summary>Publishers waiting for room, first come first served; a freed slot is handed to exactly one.</summary>
        public readonly Queue<TaskCompletionSource<bool>> Waiters = new();
        public readonly Lock Gate = new();
    }

    public void Attach(MqttServer server)
    {
        server.ClientConnectedAsync += e => { _queues[e.ClientId] = new ClientQueue(); return Task.CompletedTask; };
        server.ClientDisconnectedAsync += e => { Forget(e.ClientId); return Task.CompletedTask; };
    }

    public int PendingFor(string clientId) => _queues.TryGetValue(clientId, out ClientQueue? q) ? Volatile.Read(ref q.Pending) : 0;

    /// <summary>
    /// Called for each receiver before a message is queued for it: waits while its queue is at the watermark, then
    /// counts the message. Counting here rather than when MQTTnet reports it queued matters: MQTTnet hands the message
    /// to the receiver's sender loop first, which may write it (and release it) before that report is raised.
    /// </summary>
    public ValueTask BeforeEnqueueAsync(InterceptingClientApplicationMessageEnqueueEventArgs e)
    {
        if (!_queues.TryGetValue(e.ReceiverClientId, out ClientQueue? queue)) return ValueTask.CompletedTask; // offline: the session queue holds it
        if (e.ApplicationMessage.QualityOfServiceLevel == MqttQualityOfServiceLevel.AtMostOnce)
        {
            AdmitOrDrop(e, queue);
            return ValueTask.CompletedTask;
        }
        if (Volatile.Read(ref queue.WaiterCount) == 0 && Volatile.Read(ref queue.Pending) < options.BackpressureWatermark)
        {
            Interlocked.Increment(ref queue.Pending);
            return ValueTask.CompletedTask;
        }
        return WaitForRoomAsync(e, queue);
    }

    /// <summary>
    /// Queues the publisher behind those already waiting; a release hands each freed slot to one waiter (already
    /// counted), so a thousand blocked publishers are not all woken to race for one slot.
    /// </summary>
    private async ValueTask WaitForRoomAsync(InterceptingClientApplicationMessageEnqueueEventArgs e, ClientQueue queue)
    {
        metrics.BackpressureWait();
        var slot = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (queue.Gate)
        {
            queue.Waiters.Enqueue(slot);
            Interlocked.Increment(ref queue.WaiterCount);
        }
        // A release that read no waiter just before we queued: hand out the room it left (both sides use full fences).
        HandOutRoom(queue);
        try
        {
            await slot.Task.WaitAsync(options.MaxBackpressureWait).ConfigureAwait(false);
        }
        catch (TimeoutException) when (slot.TrySetResult(false))
        {
            // A subscriber that stopped reading must not stall every publisher forever; the hard cap still applies,
            // and any loss past it is counted and logged as an error.
            logger.LogWarning("Subscriber {Client} has {Pending} messages queued and is not reading; publishing to it without waiting", e.ReceiverClientId, Volatile.Read(ref queue.Pending));
            AdmitOrDrop(e, queue);
        }
        catch (TimeoutException)
        {
            // The slot was handed over as the wait timed out: it is counted already.
        }
    }

    /// <summary>Counts the message into the receiver's queue, or, at the hard cap, refuses it and counts the loss.</summary>
    private void AdmitOrDrop(InterceptingClientApplicationMessageEnqueueEventArgs e, ClientQueue queue)
    {
        if (Volatile.Read(ref queue.Pending) < options.MaxPendingMessagesPerClient)
        {
            Interlocked.Increment(ref queue.Pending);
            return;
        }
        e.AcceptEnqueue = false;
        CountDrop(e.ReceiverClientId, e.ApplicationMessage);
    }

    private void HandOutRoom(ClientQueue queue)
    {
        lock (queue.Gate)
        {
            while (queue.Waiters.Count > 0 && Volatile.Read(ref queue.Pending) < options.BackpressureWatermark)
            {
                TaskCompletionSource<bool> waiter = queue.Waiters.Dequeue();
                Interlocked.Decrement(ref queue.WaiterCount);
                if (waiter.Task.IsCompleted) continue; // gave up waiting: it counted itself
                Interlocked.Increment(ref queue.Pending);
                if (!waiter.TrySetResult(true)) Interlocked.Decrement(ref queue.Pending); // lost to its own timeout
            }
        }
    }

    private void CountDrop(string receiver, MQTTnet.MqttApplicationMessage message)
    {
        if (message.QualityOfServiceLevel == MqttQualityOfServiceLevel.AtMostOnce)
        {
            metrics.Qos0Dropped();
            // A subscriber that cannot keep up may lose thousands a second: count each, log a few.
            if (_qos0DropLog.Allow())
                logger.LogWarning("Broker queue of {Client} is full ({Cap}): dropped a QoS 0 message on {Topic} (every drop counts in alicia.broker.qos0.dropped)", receiver, options.MaxPendingMessagesPerClient, message.Topic);
        }
        else
        {
            metrics.Qos1Dropped();
            logger.LogError("Broker queue of {Client} is full ({Cap}): dropped a QoS {Qos} message on {Topic}", receiver, options.MaxPendingMessagesPerClient, (int)message.QualityOfServiceLevel, message.Topic);
        }
    }

    /// <summary>
    /// A message written at QoS 0 is done: no acknowledgement will come for it. Called by the broker's transport
    /// (<see cref="Transport.PacketTaps.Written"/>) for every packet it writes.
    /// </summary>
    public void OnWritten(string clientId, MQTTnet.Packets.MqttPacket packet)
    {
        if (packet is MQTTnet.Packets.MqttPublishPacket { QualityOfServiceLevel: MqttQualityOfServiceLevel.AtMostOnce }) Release(clientId);
    }

    /// <summary>
    /// A subscriber acknowledged a message it was sent at QoS 1 (PUBACK) or 2 (PUBCOMP): it is done. Called by the
    /// transport (<see cref="Transport.PacketTaps.Received"/>) for every packet a client sends, in place of MQTTnet's
    /// acknowledged event (arguments and an async enumerator per acknowledgement). A client that acknowledges what it
    /// was never sent only loosens its own backpressure; the count never goes below zero and the hard cap still holds.
    /// </summary>
    public void OnReceived(string clientId, MQTTnet.Packets.MqttPacket packet)
    {
        if (packet is MQTTnet.Packets.MqttPubAckPacket or MQTTnet.Packets.MqttPubCompPacket) Release(clientId);
    }

    /// <summary>One message of <paramref name="clientId"/>'s is done; a waiting publisher may take its room.</summary>
    private void Release(string clientId)
    {
        if (!_queues.TryGetValue(clientId, out ClientQueue? queue)) return;
        int pending = Interlocked.Decrement(ref queue.Pending);
        if (pending < 0) Interlocked.CompareExchange(ref queue.Pending, 0, pending);
        if (pending < options.BackpressureWatermark && Volatile.Read(ref queue.WaiterCount) > 0) HandOutRoom(queue);
    }

    private void Forget(string clientId)
    {
        if (!_queues.TryRemove(clientId, out ClientQueue? queue)) return;
        lock (queue.Gate)
        {
            // Gone: its waiting publishers go on; MQTTnet keeps or drops the message with the session.
            while (queue.Waiters.TryDequeue(out TaskCompletionSource<bool>? waiter)) waiter.TrySetResult(true);
            queue.WaiterCount = 0;
        }
    }
}
