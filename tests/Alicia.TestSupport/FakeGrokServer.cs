using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Alicia.TestSupport;

/// <summary>How the fake answers one request.</summary>
public enum FakeGrokMode
{
    /// <summary>A well-formed stream of server-sent events, ending with <c>data: [DONE]</c>.</summary>
    Normal,

    /// <summary>Holds the response (no status line) until the client gives up or the server is disposed.</summary>
    Slow,

    /// <summary>A 200 stream whose events are not JSON.</summary>
    Garbled,

    /// <summary>Stops in the middle of an event, without <c>[DONE]</c>.</summary>
    Truncated,

    /// <summary>HTTP 500 with an error body.</summary>
    ServerError,

    /// <summary>HTTP 401 whose error message repeats the request's headers, Authorization included.</summary>
    EchoHeaders,
}

/// <summary>One tool call the fake model makes; its arguments are streamed in several pieces.</summary>
public sealed record FakeToolCall(string Name, string Arguments, string Id = "");

/// <summary>One scripted answer: text pieces (each its own event), tool calls, or a failure mode.</summary>
public sealed record FakeGrokReply(IReadOnlyList<string> TextPieces, IReadOnlyList<FakeToolCall>? ToolCalls = null, FakeGrokMode Mode = FakeGrokMode.Normal)
{
    public static FakeGrokReply Text(params string[] pieces) => new(pieces);
    public static FakeGrokReply Tools(params FakeToolCall[] calls) => new([], calls);
    public static FakeGrokReply Failing(FakeGrokMode mode) => new([], null, mode);
}

/// <summary>
/// A FAKE of xAI's Grok chat completions API for tests (the real service cannot be reached from here): an HTTP/1.1
/// server on 127.0.0.1 speaking the OpenAI-compatible streaming protocol (<c>POST /v1/chat/completions</c>, server-sent
/// <c>chat.completion.chunk</c> events with content and tool-call deltas, <c>data: [DONE]</c>). Replies are scripted
/// in order; it can be made slow, garbled, truncated, failing, or down (<see cref="StopListening"/>). Every request body
/// is kept for assertions. The real client is the same code pointed at the real URL.
/// </summary>
public sealed class FakeGrokServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentQueue<FakeGrokReply> _script = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accepting;
    private readonly List<Task> _connections = [];
    private int _calls;

    public FakeGrokServer()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = Task.Run(AcceptLoopAsync);
    }

    public int Port { get; }

    /// <summary>The base URL a client is configured with (<c>http://127.0.0.1:PORT/v1</c>).</summary>
    public string BaseUrl => $"http://127.0.0.1:{Port}/v1";

    /// <summary>The request bodies received, in order (JSON).</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>The Authorization headers received (to check a key is sent; tests must not print them).</summary>
    public ConcurrentQueue<string> Authorizations { get; } = new();

    /// <summary>What the fake answers when the script is empty.</summary>
    public FakeGrokReply Default { get; set; } = FakeGrokReply.Text("I am a fake model. ", "I have nothing scripted.");

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Raised when a request has been read (before it is answered).</summary>
    public event Action<string>? RequestReceived;

    public FakeGrokServer Then(FakeGrokReply reply)
    {
        _script.Enqueue(reply);
        return this;
    }

    /// <summary>Closes the listening socket: new connections are refused, as with a service that is down.</summary>
    public void StopListening() => _listener.Stop();

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stopping.Token); }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or InvalidOperationException) { return; }
            lock (_connections) _connections.Add(Task.Run(() => ServeAsync(client)));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                client.NoDelay = true;
                NetworkStream stream = client.GetStream();
                (string headers, string body)? request = await ReadRequestAsync(stream, _stopping.Token);
                if (request is null) return;
                foreach (string line in request.Value.headers.Split("\r\n"))
                    if (line.StartsWith("Authorization:", StringComparison.OrdinalIgnoreCase)) Authorizations.Enqueue(line["Authorization:".Length..].Trim());
                Requests.Enqueue(request.Value.body);
                Interlocked.Increment(ref _calls);
                RequestReceived?.Invoke(request.Value.body);
                FakeGrokReply reply = _script.TryDequeue(out FakeGrokReply? next) ? next : Default;
                await AnswerAsync(stream, reply, request.Value.headers, _stopping.Token);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException) { }
        }
    }

    private static async Task<(string, string)?> ReadRequestAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        int filled = 0, headerEnd = -1;
        while (headerEnd < 0)
        {
            if (filled == buffer.Length) return null;
            int read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken);
            if (read == 0) return null;
            filled += read;
            headerEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);
        }
        string headers = Encoding.ASCII.GetString(buffer, 0, headerEnd);
        int length = 0;
        foreach (string line in headers.Split("\r\n"))
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) length = int.Parse(line["Content-Length:".Length..].Trim());
        int bodyStart = headerEnd + 4;
        byte[] body = new byte[length];
        int have = Math.Min(length, filled - bodyStart);
        buffer.AsSpan(bodyStart, have).CopyTo(body);
        while (have < length)
        {
            int read = await stream.ReadAsync(body.AsMemory(have), cancellationToken);
            if (read == 0) return null;
            have += read;
        }
        return (headers, Encoding.UTF8.GetString(body));
    }

    private static string JsonString(string text) => JsonSerializer.Serialize(text, FakeGrokJson.Default.String);

    private static async Task AnswerAsync(NetworkStream stream, FakeGrokReply reply, string headers, CancellationToken cancellationToken)
    {
        switch (reply.Mode)
        {
            case FakeGrokMode.Slow:
                await Task.Delay(Timeout.Infinite, cancellationToken);
                return;
            case FakeGrokMode.EchoHeaders:
                // A careless proxy's error page: the request's headers (the Authorization header too) sent back in the body.
                byte[] echoed = Encoding.UTF8.GetBytes("{\"error\":{\"message\":" + JsonString("unauthorized; you sent: " + headers) + ",\"type\":\"invalid_request_error\"}}");
                await WriteAsync(stream, $"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {echoed.Length}\r\nConnection: close\r\n\r\n", cancellationToken);
                await stream.WriteAsync(echoed, cancellationToken);
                return;
            case FakeGrokMode.ServerError:
                byte[] error = """{"error":{"message":"fake failure","type":"server_error"}}"""u8.ToArray();
                await WriteAsync(stream, $"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {error.Length}\r\nConnection: close\r\n\r\n", cancellationToken);
                await stream.WriteAsync(error, cancellationToken);
                return;
        }
        await WriteAsync(stream, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n", cancellationToken);
        if (reply.Mode == FakeGrokMode.Garbled)
        {
            await WriteAsync(stream, "data: {\"choices\": [ this is not json\n\ndata: ###\n\n", cancellationToken);
            return;
        }
        if (reply.Mode == FakeGrokMode.Truncated)
        {
            await WriteAsync(stream, "data: " + Chunk(w => Delta(w, "Half a sent", null)) + "\n\ndata: {\"id\":\"chatcmpl-fake\",\"choices\":[{\"index\":0,\"del", cancellationToken);
            return;
        }
        bool first = true;
        foreach (string piece in reply.TextPieces)
        {
            await WriteAsync(stream, "data: " + Chunk(w => Delta(w, piece, first ? "assistant" : null)) + "\n\n", cancellationToken);
            first = false;
        }
        IReadOnlyList<FakeToolCall> calls = reply.ToolCalls ?? [];
        for (int i = 0; i < calls.Count; i++)
        {
            FakeToolCall call = calls[i];
            string id = call.Id.Length > 0 ? call.Id : $"call_fake_{i}";
            int index = i;
            // The opening delta names the call; the arguments follow in pieces, as the real service streams them.
            await WriteAsync(stream, "data: " + Chunk(w => ToolDelta(w, index, id, call.Name, "")) + "\n\n", cancellationToken);
            for (int at = 0; at < call.Arguments.Length; at += 7)
            {
                string part = call.Arguments.Substring(at, Math.Min(7, call.Arguments.Length - at));
                await WriteAsync(stream, "data: " + Chunk(w => ToolDelta(w, index, null, null, part)) + "\n\n", cancellationToken);
            }
        }
        string finish = calls.Count > 0 ? "tool_calls" : "stop";
        await WriteAsync(stream, "data: " + Chunk(w => Finish(w, finish)) + "\n\n", cancellationToken);
        await WriteAsync(stream, "data: [DONE]\n\n", cancellationToken);
    }

    private static Task WriteAsync(NetworkStream stream, string text, CancellationToken cancellationToken) =>
        stream.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken).AsTask();

    private static string Chunk(Action<Utf8JsonWriter> choice)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", "chatcmpl-fake");
            w.WriteString("object", "chat.completion.chunk");
            w.WriteNumber("created", 1_764_000_000);
            w.WriteString("model", "grok-fake");
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            choice(w);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void Delta(Utf8JsonWriter w, string content, string? role)
    {
        w.WriteStartObject("delta");
        if (role is not null) w.WriteString("role", role);
        w.WriteString("content", content);
        w.WriteEndObject();
        w.WriteNull("finish_reason");
    }

    private static void ToolDelta(Utf8JsonWriter w, int index, string? id, string? name, string arguments)
    {
        w.WriteStartObject("delta");
        w.WriteStartArray("tool_calls");
        w.WriteStartObject();
        w.WriteNumber("index", index);
        if (id is not null)
        {
            w.WriteString("id", id);
            w.WriteString("type", "function");
        }
        w.WriteStartObject("function");
        if (name is not null) w.WriteString("name", name);
        w.WriteString("arguments", arguments);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteNull("finish_reason");
    }

    private static void Finish(Utf8JsonWriter w, string reason)
    {
        w.WriteStartObject("delta");
        w.WriteEndObject();
        w.WriteString("finish_reason", reason);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        try { await _accepting; } catch (Exception e) when (e is OperationCanceledException or SocketException) { }
        Task[] open;
        lock (_connections) open = [.. _connections];
        try { await Task.WhenAll(open).WaitAsync(Waits.Long); } catch (Exception e) when (e is OperationCanceledException or TimeoutException or IOException) { }
        _stopping.Dispose();
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class FakeGrokJson : System.Text.Json.Serialization.JsonSerializerContext;
