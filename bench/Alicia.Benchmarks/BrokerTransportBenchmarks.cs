using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Alicia.TestSupport.InMemory;
using Alicia.Engine.Bus.Transport;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using MQTTnet.Adapter;
using MQTTnet.Formatter;
using MQTTnet.Implementations;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace Alicia.Benchmarks;

/// <summary>
/// The broker's connection transport per packet: decoding a 256-byte QoS 1 PUBLISH that has already arrived, and
/// writing one. Baseline: MQTTnet's own channel adapter over a stream on the same kind of pipe. What the
/// receive still allocates is MQTTnet's (the packet object, the payload and topic it copies out, the
/// <c>Task&lt;MqttPacket&gt;</c> its interface returns); the send allocates nothing.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class BrokerTransportBenchmarks
{
    private static readonly IPEndPoint Local = new(IPAddress.Loopback, 1883);
    private byte[] _publish = [];
    private MqttPublishPacket _outgoing = null!;
    private Pipe _toServer = null!, _toClient = null!, _mqttnetIn = null!, _mqttnetOut = null!;
    private MqttPipeAdapter _pipeAdapter = null!;
    private MqttChannelAdapter _mqttnetAdapter = null!;

    [GlobalSetup]
    public void Setup()
    {
        _outgoing = new MqttPublishPacket
        {
            Topic = "alicia/devices/kitchen-sensor-1/telemetry",
            PayloadSegment = new ArraySegment<byte>(new byte[256]),
            QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
            PacketIdentifier = 7,
        };
        var encoder = new MqttPacketFormatterAdapter(MqttProtocolVersion.V500, new MqttBufferWriter(4096, 65536));
        _publish = encoder.Encode(_outgoing).Join().ToArray();

        var unpaused = new PipeOptions(pauseWriterThreshold: 0);
        _toServer = new Pipe(unpaused);
        _toClient = new Pipe(unpaused);
        _pipeAdapter = new MqttPipeAdapter(_toServer.Reader, _toClient.Writer, Formatter(), Local, Local);

        _mqttnetIn = new Pipe(unpaused);
        _mqttnetOut = new Pipe(unpaused);
        var stream = new DuplexPipeStream(_mqttnetIn.Reader, _mqttnetOut.Writer);
        _mqttnetAdapter = new MqttChannelAdapter(new MqttTcpChannel(stream, Local, Local, null), Formatter(), MQTTnet.Diagnostics.Logger.MqttNetNullLogger.Instance);
    }

    private static MqttPacketFormatterAdapter Formatter() => new(MqttProtocolVersion.V500, new MqttBufferWriter(4096, 65536));

    [BenchmarkCategory("Receive"), Benchmark(Baseline = true)]
    public MqttPacket ReceiveWithMqttnetAdapter()
    {
        _mqttnetIn.Writer.Write(_publish);
        _ = _mqttnetIn.Writer.FlushAsync().GetAwaiter().GetResult();
        return _mqttnetAdapter.ReceivePacketAsync(CancellationToken.None).GetAwaiter().GetResult();
    }

    [BenchmarkCategory("Receive"), Benchmark]
    public MqttPacket ReceiveBufferedPublish()
    {
        _toServer.Writer.Write(_publish);
        _ = _toServer.Writer.FlushAsync().GetAwaiter().GetResult();
        return _pipeAdapter.ReceivePacketAsync(CancellationToken.None).GetAwaiter().GetResult();
    }

    [BenchmarkCategory("Send"), Benchmark(Baseline = true)]
    public long SendWithMqttnetAdapter()
    {
        _mqttnetAdapter.SendPacketAsync(_outgoing, CancellationToken.None).GetAwaiter().GetResult();
        return Drain(_mqttnetOut.Reader);
    }

    [BenchmarkCategory("Send"), Benchmark]
    public long SendPublish()
    {
        _pipeAdapter.SendPacketAsync(_outgoing, CancellationToken.None).GetAwaiter().GetResult();
        return Drain(_toClient.Reader);
    }

    /// <summary>Reads what was written, so the pipe's buffers go back to its pool each time.</summary>
    private static long Drain(PipeReader reader)
    {
        if (!reader.TryRead(out ReadResult result)) return 0;
        long length = result.Buffer.Length;
        reader.AdvanceTo(result.Buffer.End);
        return length;
    }
}
