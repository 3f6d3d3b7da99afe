using System.Diagnostics;
using System.Diagnostics.Metrics;
using Alicia.Contracts;
using MQTTnet.Packets;

namespace Alicia.Engine.Bus.Tracing;

/// <summary>
/// Spans and per-topic counts for the bus (<see cref="ActivitySource"/> and meter <c>Alicia.Bus.Traffic</c>). Every
/// published envelope carries a W3C <c>traceparent</c> in its metadata (so the signature covers it) and as an MQTT 5 user
/// property (for brokers and tools that read headers only). With no listener, spans are not created; the trace context
/// is still made and passed on (unsampled), so a collector downstream can join the hops.
/// </summary>
internal static class BusTracing
{
    public const string SourceName = "Alicia.Bus";
    public const string MeterName = "Alicia.Bus.Traffic";

    public static readonly ActivitySource Source = new(SourceName);
    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> MessagesOut = Meter.CreateCounter<long>("alicia.bus.messages.out", "{message}", "Messages published, by topic class (the message type's topic pattern)");
    private static readonly Counter<long> MessagesIn = Meter.CreateCounter<long>("alicia.bus.messages.in", "{message}", "Messages verified and delivered, by topic class (the message type's topic pattern)");

    /// <summary>
    /// Starts the publish span (a child of the current activity, when there is one) and puts its trace context in the
    /// envelope's metadata. An envelope that already has a <c>traceparent</c> (a reply, a relay) keeps its trace.
    /// </summary>
    public static Activity? StartPublish<T>(string topic, ref Envelope<T> envelope) where T : IAliciaMessage<T>
    {
        MessagesOut.Add(1, new KeyValuePair<string, object?>("topic", T.TopicPattern));
        ActivityContext parent = default;
        if (envelope.Metadata is { } existing && existing.TryGetValue(TraceContext.TraceParent, out string? carried)) TraceContext.TryParse(carried, out parent);
        Activity? span = Source.HasListeners()
            ? Source.StartActivity($"publish {T.TopicPattern}", ActivityKind.Producer, parent)
            : null;
        if (span is not null)
        {
            span.SetTag("messaging.system", "mqtt");
            span.SetTag("messaging.destination.name", topic);
            span.SetTag("messaging.message.id", envelope.MessageId.ToString());
        }
        ActivityContext context = span?.Context ?? (parent != default ? parent : Activity.Current?.Context ?? NewRoot());
        var metadata = envelope.Metadata is { } m ? new Dictionary<string, string>(m, StringComparer.Ordinal) : new Dictionary<string, string>(1, StringComparer.Ordinal);
        metadata[TraceContext.TraceParent] = TraceContext.Format(context);
        envelope = new Envelope<T>(envelope.Header, envelope.Data, metadata, envelope.Encryption, envelope.Attestation, envelope.AttestedBy, envelope.Sequence, envelope.SealedData);
        return span;
    }

    /// <summary>The MQTT 5 user properties mirroring the envelope's trace context.</summary>
    public static List<MqttUserProperty>? UserProperties<T>(in Envelope<T> envelope) =>
        envelope.Metadata is { } metadata && metadata.TryGetValue(TraceContext.TraceParent, out string? value)
            ? [new MqttUserProperty(TraceContext.TraceParent, System.Text.Encoding.UTF8.GetBytes(value).AsMemory())]
            : null;

    /// <summary>A span for delivering a verified envelope to this client's handlers, joined to the sender's trace.</summary>
    public static Activity? StartDeliver<T>(string topic, in Envelope<T> envelope) where T : IAliciaMessage<T>
    {
        MessagesIn.Add(1, new KeyValuePair<string, object?>("topic", T.TopicPattern));
        if (!Source.HasListeners()) return null;
        TraceContext.TryParse(envelope.Metadata?.GetValueOrDefault(TraceContext.TraceParent), out ActivityContext parent);
        Activity? span = Source.StartActivity($"deliver {T.TopicPattern}", ActivityKind.Consumer, parent);
        span?.SetTag("messaging.destination.name", topic);
        span?.SetTag("messaging.source", envelope.Source);
        return span;
    }

    /// <summary>
    /// The gateway's span around verifying an inbound publish, joined to the trace its MQTT 5 <c>traceparent</c> names
    /// (the envelope's signed copy is checked only after; a forged header merely misfiles this one span).
    /// </summary>
    public static Activity? StartGateway(string topic, List<MqttUserProperty>? properties)
    {
        if (!Source.HasListeners()) return null;
        ActivityContext parent = default;
        if (properties is not null)
        {
            foreach (MqttUserProperty p in properties)
                if (p.Name == TraceContext.TraceParent && TraceContext.TryParse(System.Text.Encoding.UTF8.GetString(p.ValueBuffer.Span), out parent)) break;
        }
        Activity? span = Source.StartActivity("gateway verify", ActivityKind.Internal, parent);
        span?.SetTag("messaging.destination.name", topic);
        return span;
    }

    /// <summary>A trace nobody has started yet: this message is its first hop (not sampled here: nothing records it).</summary>
    private static ActivityContext NewRoot() => new(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None);
}
