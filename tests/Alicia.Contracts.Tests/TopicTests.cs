using System.Text;
using Alicia.Contracts.Messages;

namespace Alicia.Contracts.Tests;

public sealed class TopicTests
{
    [Fact]
    public void Message_topic_members()
    {
        Assert.Equal("alicia/devices/{device_id}/status", DeviceStatus.Topic);
        Assert.Equal(DeviceStatus.Topic, DeviceStatus.TopicPattern);
        Assert.Equal("alicia/devices/+/status", DeviceStatus.TopicFilter);
        Assert.Equal(MessageKind.Event, DeviceStatus.DefaultKind);
        Assert.Equal(MessageKind.Command, DeviceCommand.DefaultKind);
        Assert.Equal(MessageKind.Request, AuthRequest.DefaultKind);
        Assert.Equal(MessageKind.Response, SttResponse.DefaultKind);
        Assert.Equal("alicia/system/health/heartbeat"u8.ToArray(), ServiceHealth.TopicUtf8.ToArray());
        Assert.Equal(ServiceHealth.Topic, ServiceHealth.BuildTopic());
    }

    [Fact]
    public void Build_and_format_a_parameterized_topic()
    {
        Assert.Equal("alicia/devices/kitchen-1/status", DeviceStatus.BuildTopic("kitchen-1"));
        Assert.Equal("alicia/devices/küche/data", DeviceData.BuildTopic("küche"));
        string longId = new('x', 300);
        Assert.Equal($"alicia/devices/{longId}/audio", DeviceAudio.BuildTopic(longId));

        Span<byte> buffer = stackalloc byte[DeviceStatus.MaxTopicBytes("küche".Length)];
        Assert.True(DeviceStatus.TryFormatTopic(buffer, "küche", out int written));
        Assert.Equal("alicia/devices/küche/status", Encoding.UTF8.GetString(buffer[..written]));
        int exact = Encoding.UTF8.GetByteCount("alicia/devices/küche/status");
        Assert.Equal(exact, written);
        Assert.True(DeviceStatus.TryFormatTopic(buffer[..exact], "küche", out _));
        for (int size = 0; size < exact; size++)
            Assert.False(DeviceStatus.TryFormatTopic(buffer[..size], "küche", out _));

        Span<byte> fixedTopic = stackalloc byte[ServiceHealth.MaxTopicBytes()];
        Assert.True(ServiceHealth.TryFormatTopic(fixedTopic, out written));
        Assert.True(ServiceHealth.TryParseTopic(fixedTopic[..written]));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("+")]
    [InlineData("dev+1")]
    [InlineData("#")]
    [InlineData("dev\0")]
    [InlineData("/")]
    public void Topic_injection_is_refused(string deviceId)
    {
        var e = Assert.Throws<ArgumentException>(() => DeviceCommand.BuildTopic(deviceId));
        Assert.Equal("deviceId", e.ParamName);
        byte[] buffer = new byte[256];
        Assert.Throws<ArgumentException>(() => DeviceCommand.TryFormatTopic(buffer, deviceId, out _));
    }

    [Fact]
    public void Parse_returns_the_parameter_range()
    {
        byte[] topic = Encoding.UTF8.GetBytes("alicia/devices/küche-7/config");
        Assert.True(DeviceConfig.TryParseTopic(topic, out Range deviceId));
        Assert.Equal("küche-7", Encoding.UTF8.GetString(topic[deviceId]));
    }

    [Theory]
    [InlineData("alicia/devices//config")]
    [InlineData("alicia/devices/+/config")]
    [InlineData("alicia/devices/a#/config")]
    [InlineData("alicia/devices/a\0/config")]
    [InlineData("alicia/devices/a/b/config")]
    [InlineData("alicia/devices/a/config/")]
    [InlineData("alicia/devices/a/configx")]
    [InlineData("alicia/devices/a")]
    [InlineData("alicia/device/a/config")]
    [InlineData("")]
    public void Parse_rejects_malformed_topics(string topic)
    {
        Assert.False(DeviceConfig.TryParseTopic(Encoding.UTF8.GetBytes(topic), out Range range));
        Assert.Equal(default, range);
    }

    private static string Concrete(string pattern) =>
        string.Join('/', pattern.Split('/').Select(s => s.StartsWith('{') ? "dev-42" : s));

    [Fact]
    public void Every_topic_of_the_tree_matches_its_message()
    {
        // The design's topic tree (26) plus the registry's and the voice pipeline's additions.
        Assert.Equal(Enum.GetValues<AliciaMessageId>().Length - 1, AliciaTopics.All.Count);
        Assert.True(AliciaTopics.All.Count >= 26);
        foreach ((string name, string pattern, string filter) in AliciaTopics.All)
        {
            Assert.True(AliciaTopicTable.TryMatch(Encoding.UTF8.GetBytes(Concrete(pattern)), out AliciaMessageId id), pattern);
            Assert.Equal(name, id.ToString());
            Assert.Equal(pattern, AliciaTopicTable.PatternOf(id));
            Assert.Equal(filter, AliciaTopicTable.FilterOf(id));
            Assert.Equal(name, AliciaTopicTable.TypeOf(id).Name);
            Assert.Equal(pattern, typeof(AliciaTopics).GetField(name)!.GetValue(null));
            if (filter.Contains('+'))
                Assert.False(AliciaTopicTable.TryMatch(Encoding.UTF8.GetBytes(filter), out _), "a filter is not a topic: " + filter);
        }
    }

    [Theory]
    [InlineData("alicia/devices/speakers/announce", AliciaMessageId.SpeakerAnnouncement)]
    [InlineData("alicia/devices/sensors/telemetry", AliciaMessageId.SensorTelemetry)]
    [InlineData("alicia/devices/speakers/status", AliciaMessageId.DeviceStatus)]
    [InlineData("alicia/devices/x/command", AliciaMessageId.DeviceCommand)]
    public void Literal_patterns_win_over_placeholders(string topic, AliciaMessageId expected)
    {
        Assert.True(AliciaTopicTable.TryMatch(Encoding.UTF8.GetBytes(topic), out AliciaMessageId id));
        Assert.Equal(expected, id);
    }

    [Theory]
    [InlineData("alicia/devices/x/unknown")]
    [InlineData("alicia/devices//status")]
    [InlineData("alicia/system/health/heartbeat/extra")]
    [InlineData("other/system/health/heartbeat")]
    [InlineData("alicia")]
    [InlineData("")]
    public void Unknown_topics_do_not_match(string topic)
    {
        Assert.False(AliciaTopicTable.TryMatch(Encoding.UTF8.GetBytes(topic), out AliciaMessageId id));
        Assert.Equal(AliciaMessageId.None, id);
    }

    [Fact]
    public void Message_ids_are_ordered_by_type_name()
    {
        string[] names = Enum.GetNames<AliciaMessageId>()[1..];
        Assert.Equal(names.OrderBy(n => n, StringComparer.Ordinal), names);
        Assert.Equal(0, (int)AliciaMessageId.None);
        Assert.Throws<ArgumentOutOfRangeException>(() => AliciaTopicTable.PatternOf(AliciaMessageId.None));
    }

    private struct RecordingVisitor : IMessageVisitor
    {
        public Type? Seen;
        public string? Pattern;
        public int PayloadLength;
        public int TopicLength;

        public void Visit<T>(ReadOnlySpan<byte> topic, ReadOnlySpan<byte> payload) where T : IAliciaMessage<T>
        {
            Seen = typeof(T);
            Pattern = T.TopicPattern;
            TopicLength = topic.Length;
            PayloadLength = payload.Length;
        }
    }

    [Fact]
    public void Dispatcher_calls_Visit_with_the_matched_type()
    {
        byte[] payload = [1, 2, 3];
        foreach ((string name, string pattern, _) in AliciaTopics.All)
        {
            byte[] topic = Encoding.UTF8.GetBytes(Concrete(pattern));
            var visitor = new RecordingVisitor();
            Assert.True(AliciaDispatcher.TryDispatch(topic, payload, ref visitor));
            Assert.Equal(name, visitor.Seen!.Name);
            Assert.Equal(pattern, visitor.Pattern);
            Assert.Equal(topic.Length, visitor.TopicLength);
            Assert.Equal(3, visitor.PayloadLength);
        }
        var none = new RecordingVisitor();
        Assert.False(AliciaDispatcher.TryDispatch("alicia/nothing"u8, payload, ref none));
        Assert.Null(none.Seen);
    }

    private struct DecodingVisitor : IMessageVisitor
    {
        public string? Source;
        public object? Data;

        public void Visit<T>(ReadOnlySpan<byte> topic, ReadOnlySpan<byte> payload) where T : IAliciaMessage<T>
        {
            Envelope<T> envelope = EnvelopeCodec.Read<T>(payload, null, out _);
            Source = envelope.Source;
            Data = envelope.Data;
        }
    }

    [Fact]
    public void Dispatcher_lets_a_visitor_decode_the_typed_envelope()
    {
        var status = new DeviceStatus { State = DeviceState.Degraded, BirthSequence = 9 };
        var envelope = new Envelope<DeviceStatus>(EnvelopeHeader.Create("lamp-1", EnvelopeHeader.Broadcast, DeviceStatus.DefaultKind), status);
        byte[] bytes = Samples.Build((ref Serialization.MsgPackWriter w) => EnvelopeCodec.Write(ref w, envelope, reserveSignature: false));
        var visitor = new DecodingVisitor();
        Assert.True(AliciaDispatcher.TryDispatch(Encoding.UTF8.GetBytes(DeviceStatus.BuildTopic("lamp-1")), bytes, ref visitor));
        Assert.Equal("lamp-1", visitor.Source);
        Assert.Equal(DeviceState.Degraded, Assert.IsType<DeviceStatus>(visitor.Data).State);
    }
}
