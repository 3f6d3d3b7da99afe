using System.Diagnostics;
using System.Text;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Bus.Tracing;
using MQTTnet;

namespace Alicia.Web.Tests;

public sealed class TracingTests : IClassFixture<ObservedEngine>
{
    private const string TestSource = "Alicia.Web.Tests.Tracing";
    private static readonly ActivitySource Test = new(TestSource);
    private readonly ObservedEngine _engine;

    public TracingTests(ObservedEngine engine) => _engine = engine;

    [Fact]
    public async Task Every_envelope_carries_the_publishers_trace_in_its_signed_metadata_and_as_an_mqtt_user_property()
    {
        using var listener = new ActivityListener { ShouldListenTo = s => s.Name == TestSource, Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded };
        ActivitySource.AddActivityListener(listener);
        await using AliciaBus sender = await _engine.Test.ClientAsync("trace-sender");
        await using AliciaBus receiver = await _engine.Test.ClientAsync("trace-receiver");
        IMqttClient raw = await RawMqtt.ConnectAsync(_engine.Test.Endpoint);
        try
        {
            var signed = new TaskCompletionSource<BusMessage<DeviceData>>(TaskCreationOptions.RunContinuationsAsynchronously);
            var header = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            await receiver.SubscribeAsync<DeviceData>((m, _) => { signed.TrySetResult(m); return default; }, new SubscribeOptions { Filter = DeviceData.BuildTopic("traced-sensor") });
            raw.ApplicationMessageReceivedAsync += e =>
            {
                if (e.ApplicationMessage.UserProperties?.FirstOrDefault(p => p.Name == TraceContext.TraceParent) is { } p) header.TrySetResult(Encoding.UTF8.GetString(p.ValueBuffer.Span));
                return Task.CompletedTask;
            };
            await raw.SubscribeAsync(DeviceData.BuildTopic("traced-sensor"));

            using Activity root = Test.StartActivity("user action")!;
            await sender.PublishAsync(new DeviceData { Values = new() { ["t"] = 21 } }, new PublishOptions { Topic = DeviceData.BuildTopic("traced-sensor") });

            BusMessage<DeviceData> received = await signed.Within();
            string traceParent = received.Envelope.Metadata![TraceContext.TraceParent];
            Assert.True(TraceContext.TryParse(traceParent, out ActivityContext carried));
            Assert.Equal(root.TraceId, carried.TraceId);
            Assert.Equal(traceParent, await header.Within());
            Assert.Equal(root.TraceId.ToHexString(), TraceContext.TraceIdOf(received.Envelope.Metadata));
        }
        finally
        {
            await raw.CloseAsync();
        }
    }

    [Fact]
    public async Task A_message_without_a_current_trace_starts_one()
    {
        await using AliciaBus sender = await _engine.Test.ClientAsync("trace-sender-2");
        await using AliciaBus receiver = await _engine.Test.ClientAsync("trace-receiver-2");
        var received = new TaskCompletionSource<BusMessage<DeviceData>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await receiver.SubscribeAsync<DeviceData>((m, _) => { received.TrySetResult(m); return default; }, new SubscribeOptions { Filter = DeviceData.BuildTopic("untraced") });
        Activity.Current = null;
        await sender.PublishAsync(new DeviceData(), new PublishOptions { Topic = DeviceData.BuildTopic("untraced") });
        Assert.Matches("^[0-9a-f]{32}$", TraceContext.TraceIdOf((await received.Within()).Envelope.Metadata));
    }
}

public sealed class OtlpExportTests
{
    [Fact]
    public async Task Spans_of_a_voice_request_export_over_otlp_joined_to_the_trace_its_envelope_carried()
    {
        await using var collector = new OtlpTraceReceiver();
        var engine = new ObservedEngine { OtlpEndpoint = collector.Endpoint };
        await engine.InitializeAsync();
        string traceId;
        try
        {
            await using AliciaBus voice = await engine.Test.ClientAsync("otlp-voice-node");
            var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            engine.Monitoring.VoiceTraced += t => { if (t.SessionId == "otlp-session") seen.TrySetResult(); };
            await voice.PublishAsync(new SttResponse
            {
                SessionId = "otlp-session", DeviceId = "satellite-otlp", Text = "what time is it",
                Timings = new() { ["vad_endpoint_ms"] = 50, ["stt_queue_ms"] = 2, ["stt_ms"] = 90, ["end_of_speech_to_result_ms"] = 150 },
            });
            await seen.Within();
            traceId = engine.Monitoring.Traces.Single(t => t.SessionId == "otlp-session").TraceId;
            Assert.Matches("^[0-9a-f]{32}$", traceId);
        }
        finally
        {
            // Stopping the engine flushes the batch of spans.
            await engine.DisposeAsync();
        }
        OtlpTraceReceiver.Span request = await collector.WaitForAsync(s => s.TraceId == traceId && s.Name == "voice request");
        OtlpTraceReceiver.Span stt = await collector.WaitForAsync(s => s.TraceId == traceId && s.Name == "stt");
        Assert.Equal(request.SpanId, stt.ParentSpanId);
        await collector.WaitForAsync(s => s.TraceId == traceId && s.Name == "deliver " + SttResponse.TopicPattern);
    }
}
