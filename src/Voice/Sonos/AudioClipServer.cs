using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Alicia.Voice.Sonos;

/// <summary>
/// Serves synthesised replies as WAV files over HTTP (<c>GET /clips/{id}.wav</c>) for speakers that play URLs (Sonos).
/// A minimal HTTP/1.1 server on a socket: one GET per connection, the newest <see cref="MaxClips"/> clips kept.
/// Binds where configured (the LAN address the speakers reach; tests use 127.0.0.1).
/// </summary>
internal sealed class AudioClipServer : IAsyncDisposable
{
    public const int MaxClips = 32;

    private readonly ConcurrentDictionary<string, byte[]> _clips = new(StringComparer.Ordinal);
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

    /// <summary>Clips fetched (by any client), for monitoring and tests.</summary>
    public int Fetches => Volatile.Read(ref _fetches);

    private int _fetches;

    public void Start()
    {
        _listener.Start();
        _accepting = AcceptAsync(_stop.Token);
    }

    /// <summary>Publishes a clip; returns its URL.</summary>
    public Uri Publish(byte[] wav)
    {
        string id = Guid.NewGuid().ToString("N");
        _clips[id] = wav;
        _order.Enqueue(id);
        while (_order.Count > MaxClips && _order.TryDequeue(out string? old)) _clips.TryRemove(old, out _);
        string host = _host.Contains(':', StringComparison.Ordinal) ? $"[{_host}]" : _host;
        return new Uri($"http://{host}:{EndPoint.Port}/clips/{id}.wav");
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
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        try
        {
            string request = await ReadHeadAsync(stream, timeout.Token).ConfigureAwait(false);
            string[] first = request.Split('\n')[0].Trim().Split(' ');
            bool head = first.Length >= 2 && first[0] == "HEAD";
            string path = first.Length >= 2 ? first[1] : "";
            string id = path.StartsWith("/clips/", StringComparison.Ordinal) && path.EndsWith(".wav", StringComparison.Ordinal) ? path[7..^4] : "";
            if (first[0] is not ("GET" or "HEAD") || !_clips.TryGetValue(id, out byte[]? wav))
            {
                await stream.WriteAsync("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), timeout.Token).ConfigureAwait(false);
                return;
            }
            byte[] headers = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: {wav.Length}\r\nConnection: close\r\n\r\n");
            await stream.WriteAsync(headers, timeout.Token).ConfigureAwait(false);
            if (!head)
            {
                await stream.WriteAsync(wav, timeout.Token).ConfigureAwait(false);
                Interlocked.Increment(ref _fetches);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or InvalidDataException)
        {
            _logger.LogDebug("Speech clips: a request failed: {Reason}", e.Message);
        }
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
