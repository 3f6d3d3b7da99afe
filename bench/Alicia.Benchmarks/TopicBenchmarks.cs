using System.Text;
using Alicia.Contracts;
using Alicia.Contracts.Messages;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using MQTTnet;

namespace Alicia.Benchmarks;

/// <summary>
/// The generated topic helpers: formatting a parameterised topic, parsing it back, and matching a
/// concrete topic to its message type. Each category has a naive baseline written the obvious way.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class TopicBenchmarks
{
    private const string DeviceId = "living-room-lamp-7";

    private static readonly byte[] StatusTopic = Encoding.UTF8.GetBytes($"alicia/devices/{DeviceId}/status");

    /// <summary>A few topics across the tree: static 4-segment, parameterised (last candidate tried), and a miss.</summary>
    private static readonly byte[][] MatchTopics =
    [
        Encoding.UTF8.GetBytes(SensorTelemetry.Topic),
        Encoding.UTF8.GetBytes(AliciaTopics.SttRequest),
        Encoding.UTF8.GetBytes($"alicia/devices/{DeviceId}/status"),
        Encoding.UTF8.GetBytes("alicia/devices/lamp/unknown"),
    ];

    private static readonly string[] MatchTopicStrings = [.. MatchTopics.Select(t => Encoding.UTF8.GetString(t))];
    private static readonly string[] AllFilters = [.. AliciaTopics.All.Select(t => t.Filter)];

    private readonly byte[] _buffer = new byte[256];

    // Not a const: an interpolated string of constants is folded at compile time and would measure nothing.
    private readonly string _deviceId = DeviceId;

    [BenchmarkCategory("Format"), Benchmark(Baseline = true)]
    public string FormatInterpolated() => $"alicia/devices/{_deviceId}/status";

    [BenchmarkCategory("Format"), Benchmark]
    public int FormatTryFormatStack()
    {
        Span<byte> topic = stackalloc byte[DeviceStatus.MaxTopicBytes(_deviceId.Length)];
        return DeviceStatus.TryFormatTopic(topic, _deviceId, out int written) ? written : -1;
    }

    [BenchmarkCategory("Format"), Benchmark]
    public int FormatTryFormatReused() => DeviceStatus.TryFormatTopic(_buffer, _deviceId, out int written) ? written : -1;

    /// <summary>Baseline: split the string topic and compare segments (what hand-written routing does).</summary>
    [BenchmarkCategory("Parse"), Benchmark(Baseline = true)]
    public int ParseSplit()
    {
        string[] parts = Encoding.UTF8.GetString(StatusTopic).Split('/');
        return parts is ["alicia", "devices", { Length: > 0 } id, "status"] ? id.Length : -1;
    }

    [BenchmarkCategory("Parse"), Benchmark]
    public int ParseTryParseTopic() => DeviceStatus.TryParseTopic(StatusTopic, out Range id) ? id.GetOffsetAndLength(StatusTopic.Length).Length : -1;

    /// <summary>Baseline: MQTTnet's filter comparer against every filter of the tree (string topics).</summary>
    [BenchmarkCategory("Match"), Benchmark(Baseline = true, OperationsPerInvoke = 4)]
    public int MatchMqttFilterComparer()
    {
        int found = 0;
        foreach (string topic in MatchTopicStrings)
        {
            for (int i = 0; i < AllFilters.Length; i++)
            {
                if (MqttTopicFilterComparer.Compare(topic, AllFilters[i]) == MqttTopicFilterCompareResult.IsMatch) { found += i; break; }
            }
        }
        return found;
    }

    [BenchmarkCategory("Match"), Benchmark(OperationsPerInvoke = 4)]
    public int MatchTopicTable()
    {
        int found = 0;
        foreach (byte[] topic in MatchTopics)
        {
            if (AliciaTopicTable.TryMatch(topic, out AliciaMessageId id)) found += (int)id;
        }
        return found;
    }
}
