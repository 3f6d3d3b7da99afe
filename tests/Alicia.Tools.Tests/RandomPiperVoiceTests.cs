using Alicia.Tools.Models;
using Alicia.Tools.Models.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace Alicia.Tools.Tests;

/// <summary>
/// The Piper-shaped random-weight voice: ONNX bytes written by our own protobuf writer, loaded and run by ONNX Runtime
/// with exactly a Piper export's inputs and output. (It is noise: only shapes and the length rule are checked.)
/// </summary>
public sealed class RandomPiperVoiceTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "alicia-piper-gen-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void The_protobuf_writer_encodes_as_the_protobuf_documentation_shows()
    {
        // developers.google.com/protocol-buffers/docs/encoding: field 1 = 150 is 08 96 01; field 2 = "testing" is 12 07 74 65 73 74 69 6e 67.
        Assert.Equal([0x08, 0x96, 0x01], new ProtoWriter().Int(1, 150).ToArray());
        Assert.Equal([0x12, 0x07, .. "testing"u8.ToArray()], new ProtoWriter().String(2, "testing").ToArray());
        Assert.Equal([0x1a, 0x03, 0x08, 0x96, 0x01], new ProtoWriter().Message(3, m => m.Int(1, 150)).ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void The_graph_has_Piper_inputs_and_output_and_its_length_is_ids_times_256_times_length_scale(int speakers)
    {
        string path = RandomPiperVoice.GetOrCreate(_dir, speakers);
        Assert.True(File.Exists(path + ".json"));
        using var session = new InferenceSession(path);

        string[] expected = speakers > 1 ? ["input", "input_lengths", "scales", "sid"] : ["input", "input_lengths", "scales"];
        Assert.Equal(expected.Order(), session.InputMetadata.Keys.Order());
        Assert.Equal(["output"], session.OutputMetadata.Keys);
        Assert.Equal(4, session.OutputMetadata["output"].Dimensions.Length);

        long[] ids = [1, 0, 40, 0, 41, 0, 2];
        (long[] shape, float[] normal) = Run(session, ids, 1.0f, speakers, sid: 0);
        Assert.Equal([1, 1, 1, ids.Length * 256], shape);
        Assert.All(normal, s => Assert.InRange(s, -1f, 1f));
        (shape, _) = Run(session, ids, 1.5f, speakers, sid: 0);
        Assert.Equal([1, 1, 1, (long)Math.Floor(ids.Length * 256 * 1.5)], shape);
        if (speakers > 1)
        {
            (_, float[] other) = Run(session, ids, 1.0f, speakers, sid: 3);
            Assert.NotEqual(normal, other); // each speaker has its own embedding
        }
    }

    private static (long[] Shape, float[] Samples) Run(InferenceSession session, long[] ids, float lengthScale, int speakers, long sid)
    {
        using OrtValue input = OrtValue.CreateTensorValueFromMemory(ids, [1, ids.Length]);
        using OrtValue lengths = OrtValue.CreateTensorValueFromMemory(new long[] { ids.Length }, [1]);
        using OrtValue scales = OrtValue.CreateTensorValueFromMemory(new[] { 0.667f, lengthScale, 0.8f }, [3]);
        using OrtValue speaker = OrtValue.CreateTensorValueFromMemory(new[] { sid }, [1]);
        var inputs = new Dictionary<string, OrtValue> { ["input"] = input, ["input_lengths"] = lengths, ["scales"] = scales };
        if (speakers > 1) inputs["sid"] = speaker;
        using var run = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(run, inputs, ["output"]);
        return (outputs[0].GetTensorTypeAndShape().Shape, outputs[0].GetTensorDataAsSpan<float>().ToArray());
    }
}
