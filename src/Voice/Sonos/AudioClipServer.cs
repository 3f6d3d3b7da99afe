using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Alicia.Voice.Speech;
using Microsoft.Extensions.Logging;

namespace Alicia.Voice.Sonos;

/// <summary>
/// Serves synthesised replies as WAV over HTTP (<c>GET /clips/{id}.wav</c>) for speakers that play URLs (Sonos), while
/// they are still being synthesised: a clip still growing is sent with chunked transfer (HTTP/1.1; to HTTP/1.0 clients
/// until the connection closes) and a WAV header of unknown length, as streaming writers do; a finished clip with its
/// exact length. A minimal HTTP/1.1 server on a socket: one GET per connection, the newest <see cref="MaxClips"/> clips
/// kept. Binds where configured (the LAN address the speakers reach; tests use 127.0.0.1).
/// </summary>
internal sealed class AudioClipServer : IAsyncDisposable
{
    public const int MaxClips = 32;

    /// <summary>A fetch waiting this long for more audio of a growing clip gives up (the reply's own timeouts end it first).</summary>
    private static readonly TimeSpan IdleLimit = TimeSpan.FromMinutes(2);

    private readonly ConcurrentDictionary<string, StreamingClip> _clips = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ILogger _logger;
    private readonly string _host;
    private Task _accepting = Task.CompletedTask;

    public AudioClipServer(IPAddress bind, int port, string? advertisedHost, ILogger logger)
    {
        _listener = new TcpListener(bind, port);
        _logger = logger;
        _host = advertisedHost ?? bind.ToString();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Clips served to their end (by any client), for monitoring and tests.</summary>
    public int Fetches => Volatile.Read(ref _fetches);

    private int _fetches;

    public void Start()
    {
        _listener.Start();
        _accepting = AcceptAsync(_stop.Token);
    }

    /// <summary>Publishes a clip that grows as <paramref name="format"/> PCM is appended; returns its URL and the clip.</summary>
    public (Uri Url, StreamingClip Clip) Publish(SpeechFormat format)
    {
        string id = Guid.NewGuid().ToString("N");
        var clip = new StreamingClip(format);
        _clips[id] = clip;
        _order.Enqueue(id);
        while (_order.Count > MaxClips && _order.TryDequeue(out string? old)) _clips.TryRemove(old, out _);
        string host = _host.Contains(':', StringComparison.Ordinal) ? $"[{_host}]" : _host;
        return (new Uri($"http://{host}:{EndPoint.Port}/clips/{id}.wav"), clip);
    }

    private async Task AcceptAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await _listener.AcceptSocketAsync(ct).ConfigureAwait(false); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            _ = ServeAsync(socket, ct);
        }
    }

    private async Task ServeAsync(Socket socket, CancellationToken ct)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        try
        {
            string request;
            using (var head = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                head.CancelAfter(TimeSpan.FromSeconds(10));
                request = await ReadHeadAsync(stream, head.Token).ConfigureAwait(false);
            }
            string[] first = request.Split('\n')[0].Trim().Split(' ');
            bool isHead = first.Length >= 2 && first[0] == "HEAD";
            string path = first.Length >= 2 ? first[1] : "";
            bool http11 = first.Length >= 3 && first[2] == "HTTP/1.1";
            string id = path.StartsWith("/clips/", StringComparison.Ordinal) && path.EndsWith(".wav", StringComparison.Ordinal) ? path[7..^4] : "";
            if (first[0] is not ("GET" or "HEAD") || !_clips.TryGetValue(id, out StreamingClip? clip))
            {
                await stream.WriteAsync("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), ct).ConfigureAwait(false);
                return;
            }
            if (clip.IsComplete) await SendCompleteAsync(stream, clip, isHead, ct).ConfigureAwait(false);
            else await SendGrowingAsync(stream, clip, isHead, http11, ct).ConfigureAwait(false);
            if (!isHead) Interlocked.Increment(ref _fetches);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or InvalidDataException)
        {
            _logger.LogDebug("Speech clips: a request failed: {Reason}", e.Message);
        }
    }

    private static async Task SendCompleteAsync(Stream stream, StreamingClip clip, bool isHead, CancellationToken ct)
    {
        int length = clip.Length;
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: {44 + length}\r\nConnection: close\r\n\r\n"), ct).ConfigureAwait(false);
        if (isHead) return;
        await stream.WriteAsync(clip.Header(length), ct).ConfigureAwait(false);
        var buffer = new byte[16 * 1024];
        for (int offset = 0, n; (n = await clip.ReadAsync(offset, buffer, ct).ConfigureAwait(false)) > 0; offset += n)
            await stream.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
    }

    /// <summary>The audio so far at once, then each piece as it is appended, until the clip completes.</summary>
    private static async Task SendGrowingAsync(Stream stream, StreamingClip clip, bool isHead, bool chunked, CancellationToken ct)
    {
        string framing = chunked ? "Transfer-Encoding: chunked\r\n" : "";
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\n{framing}Connection: close\r\n\r\n"), ct).ConfigureAwait(false);
        if (isHead) return;
        await WritePartAsync(stream, clip.Header(null), chunked, ct).ConfigureAwait(false);
        var buffer = new byte[16 * 1024];
        int offset = 0;
        while (true)
        {
            int n;
            using (var idle = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                idle.CancelAfter(IdleLimit);
                n = await clip.ReadAsync(offset, buffer, idle.Token).ConfigureAwait(false);
            }
            if (n == 0) break;
            await WritePartAsync(stream, buffer.AsMemory(0, n), chunked, ct).ConfigureAwait(false);
            offset += n;
        }
        if (chunked) await stream.WriteAsync("0\r\n\r\n"u8.ToArray(), ct).ConfigureAwait(false);
    }

    private static async Task WritePartAsync(Stream stream, ReadOnlyMemory<byte> data, bool chunked, CancellationToken ct)
    {
        if (chunked) await stream.WriteAsync(Encoding.ASCII.GetBytes($"{data.Length:X}\r\n"), ct).ConfigureAwait(false);
        await stream.WriteAsync(data, ct).ConfigureAwait(false);
        if (chunked) await stream.WriteAsync("\r\n"u8.ToArray(), ct).ConfigureAwait(false);
    }

    private static async Task<string> ReadHeadAsync(Stream stream, CancellationToken ct)
    {
        var head = new List<byte>(512);
        var one = new byte[1];
        while (head.Count < 8192)
        {
            if (await stream.ReadAsync(one, ct).ConfigureAwait(false) == 0) break;
            head.Add(one[0]);
            int n = head.Count;
            if (n >= 4 && head[n - 4] == '\r' && head[n - 3] == '\n' && head[n - 2] == '\r' && head[n - 1] == '\n') break;
        }
        if (head.Count == 0) throw new InvalidDataException("empty request");
        return Encoding.ASCII.GetString([.. head]);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _accepting.ConfigureAwait(false);
        _stop.Dispose();
    }
}
