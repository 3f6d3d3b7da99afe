namespace Alicia.Tools.Models.Onnx;

/// <summary>An ONNX tensor element type (TensorProto.DataType).</summary>
internal enum OnnxType
{
    Float = 1,
    Int64 = 7,
}

/// <summary>
/// A small ONNX graph builder over <see cref="ProtoWriter"/> (ModelProto, GraphProto, NodeProto, TensorProto,
/// ValueInfoProto field numbers from onnx.proto): inputs, outputs, constant initializers and nodes with int, float
/// and ints attributes. Dimensions are numbers, or names for dynamic ones.
/// </summary>
internal sealed class OnnxGraph(string name)
{
    private readonly List<Action<ProtoWriter>> _nodes = [], _initializers = [], _inputs = [], _outputs = [];

    public OnnxGraph Input(string input, OnnxType type, params object[] dims)
    {
        _inputs.Add(w => ValueInfo(w, input, type, dims));
        return this;
    }

    public OnnxGraph Output(string output, OnnxType type, params object[] dims)
    {
        _outputs.Add(w => ValueInfo(w, output, type, dims));
        return this;
    }

    public OnnxGraph Constant(string tensor, float[] values, params long[] dims) => Initializer(tensor, OnnxType.Float, dims, Raw(values));

    public OnnxGraph Constant(string tensor, long[] values, params long[] dims) => Initializer(tensor, OnnxType.Int64, dims, Raw(values));

    /// <summary>A node; attributes are <c>(name, value)</c> with an int, long, float or long[] value.</summary>
    public OnnxGraph Node(string op, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        _nodes.Add(w =>
        {
            foreach (string i in inputs) w.String(1, i);
            foreach (string o in outputs) w.String(2, o);
            w.String(3, outputs[0] + "_" + op);
            w.String(4, op);
            foreach ((string an, object value) in attributes)
                w.Message(5, a =>
                {
                    a.String(1, an);
                    switch (value)
                    {
                        case float f: a.Float(2, f).Int(20, 1); break;
                        case int i: a.Int(3, i).Int(20, 2); break;
                        case long l: a.Int(3, l).Int(20, 2); break;
                        case string s: a.String(4, s).Int(20, 3); break;
                        case long[] ls:
                            foreach (long l in ls) a.Int(8, l);
                            a.Int(20, 7);
                            break;
                        default: throw new ArgumentException($"attribute {an}: {value.GetType().Name} is not supported");
                    }
                });
        });
        return this;
    }

    /// <summary>The ModelProto bytes (IR version 8, the default domain at <paramref name="opset"/>).</summary>
    public byte[] ToModel(int opset = 13, string producer = "alicia-tools") => new ProtoWriter()
        .Int(1, 8)
        .String(2, producer)
        .Message(7, g =>
        {
            foreach (Action<ProtoWriter> n in _nodes) g.Message(1, n);
            g.String(2, name);
            foreach (Action<ProtoWriter> t in _initializers) g.Message(5, t);
            foreach (Action<ProtoWriter> i in _inputs) g.Message(11, i);
            foreach (Action<ProtoWriter> o in _outputs) g.Message(12, o);
        })
        .Message(8, o => o.String(1, "").Int(2, opset))
        .ToArray();

    private OnnxGraph Initializer(string tensor, OnnxType type, long[] dims, byte[] raw)
    {
        _initializers.Add(w =>
        {
            foreach (long d in dims) w.Int(1, d);
            w.Int(2, (int)type);
            w.String(8, tensor);
            w.Bytes(9, raw);
        });
        return this;
    }

    private static void ValueInfo(ProtoWriter w, string name, OnnxType type, object[] dims)
    {
        w.String(1, name);
        w.Message(2, t => t.Message(1, tensor =>
        {
            tensor.Int(1, (int)type);
            tensor.Message(2, shape =>
            {
                foreach (object d in dims)
                    shape.Message(1, dim => _ = d is string param ? dim.String(2, param) : dim.Int(1, Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture)));
            });
        }));
    }

    private static byte[] Raw(float[] values)
    {
        var raw = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(4 * i), values[i]);
        return raw;
    }

    private static byte[] Raw(long[] values)
    {
        var raw = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(8 * i), values[i]);
        return raw;
    }
}
