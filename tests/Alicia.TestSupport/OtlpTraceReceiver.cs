using System.Net;
using System.Text;
using System.Threading.Channels;

namespace Alicia.TestSupport;

/// <summary>
/// A minimal OTLP/HTTP trace collector on 127.0.0.1: accepts <c>POST /v1/traces</c> in protobuf, decodes just the
/// spans' trace id, span id, parent span id and name (ExportTraceServiceRequest → ResourceSpans → ScopeSpans → Span),
/// and answers with an empty ExportTraceServiceResponse.
/// </summary>
public sealed class OtlpTraceReceiver : IAsyncDisposable
{
    public sealed record Span(string TraceId, string SpanId, string ParentSpanId, string Name);

    private readonly HttpListener _listener = new();
    private readonly Channel<Span> _spans = Channel.CreateUnbounded<Span>();
    private readonly Task _loop;

    public OtlpTraceReceiver()
    {
        Port = FreePort.Next();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }
    public string Endpoint => $"http://127.0.0.1:{Port}/v1/traces";

    /// <summary>Every span received so far.</summary>
    public List<Span> Received { get; } = [];

    /// <summary>Waits for a span matching <paramref name="match"/> (bounded by <see cref="Waits.Long"/>).</summary>
    public async Task<Span> WaitForAsync(Func<Span, bool> match)
    {
        lock (Received)
        {
            if (Received.FirstOrDefault(match) is { } seen) return seen;
        }
        using var timeout = new CancellationTokenSource(Waits.Long);
        while (await _spans.Reader.WaitToReadAsync(timeout.Token))
        {
            while (_spans.Reader.TryRead(out Span? span))
                if (match(span)) return span;
        }
        throw new TimeoutException("no matching span");
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            if (context.Request.HttpMethod == "POST" && context.Request.Url?.AbsolutePath == "/v1/traces")
            {
                foreach (Span span in Decode(body.ToArray()))
                {
                    lock (Received) Received.Add(span);
                    _spans.Writer.TryWrite(span);
                }
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
            }
            else context.Response.StatusCode = 404;
            context.Response.Close();
        }
    }

    /// <summary>ExportTraceServiceRequest: field 1 resource_spans; ResourceSpans: 2 scope_spans; ScopeSpans: 2 spans.</summary>
    public static IEnumerable<Span> Decode(byte[] request)
    {
        foreach ((int field, ReadOnlyMemory<byte> resourceSpans) in Fields(request))
        {
            if (field != 1) continue;
            foreach ((int f2, ReadOnlyMemory<byte> scopeSpans) in Fields(resourceSpans))
            {
                if (f2 != 2) continue;
                foreach ((int f3, ReadOnlyMemory<byte> span) in Fields(scopeSpans))
                {
                    if (f3 != 2) continue;
                    string traceId = "", spanId = "", parent = "", name = "";
                    foreach ((int f4, ReadOnlyMemory<byte> value) in Fields(span))
                    {
                        switch (f4)
                        {
                            case 1: traceId = Convert.ToHexStringLower(value.Span); break;
                            case 2: spanId = Convert.ToHexStringLower(value.Span); break;
                            case 4: parent = Convert.ToHexStringLower(value.Span); break;
                            case 5: name = Encoding.UTF8.GetString(value.Span); break;
                        }
                    }
                    yield return new Span(traceId, spanId, parent, name);
                }
            }
        }
    }

    /// <summary>The length-delimited fields of a protobuf message (varint and fixed fields are skipped).</summary>
    private static List<(int Field, ReadOnlyMemory<byte> Value)> Fields(ReadOnlyMemory<byte> message)
    {
        var fields = new List<(int, ReadOnlyMemory<byte>)>();
        ReadOnlySpan<byte> bytes = message.Span;
        int i = 0;
        while (i < bytes.Length)
        {
            ulong key = Varint(bytes, ref i);
            int field = (int)(key >> 3);
            switch ((int)(key & 7))
            {
                case 0: Varint(bytes, ref i); break;
                case 1: i += 8; break;
                case 5: i += 4; break;
                case 2:
                    int length = (int)Varint(bytes, ref i);
                    fields.Add((field, message.Slice(i, length)));
                    i += length;
                    break;
                default: throw new FormatException($"unsupported protobuf wire type {key & 7}");
            }
        }
        return fields;
    }

    private static ulong Varint(ReadOnlySpan<byte> bytes, ref int i)
    {
        ulong value = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = bytes[i++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
