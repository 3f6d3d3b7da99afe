using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;

namespace Alicia.Voice.Transport;

/// <summary>
/// The server half of the WebSocket opening handshake (RFC 6455 section 4.2), done here so that the audio
/// listener needs no HTTP server: read one bounded request header, check it is a version-13 upgrade of
/// the voice path, answer 101 with <c>Sec-WebSocket-Accept</c>, or a plain 400 that names the reason.
/// No origin check: the one-time token from the bus, not an ambient cookie, is what authorises a stream.
/// </summary>
internal static class WebSocketUpgrade
{
    /// <summary>Browsers send well under 2 KiB; a larger header is refused rather than buffered.</summary>
    public const int MaxHeaderBytes = 8 * 1024;

    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    private static ReadOnlySpan<byte> HeaderEnd => "\r\n\r\n"u8;

    /// <summary>Reads and checks the request header: the client's key, or why it is refused.</summary>
    public static async Task<(string? Key, string? Refusal)> ReadRequestAsync(PipeReader reader, string path, CancellationToken ct)
    {
        while (true)
        {
            ReadResult result = await reader.ReadAsync(ct).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            var scan = new SequenceReader<byte>(buffer);
            if (!scan.TryReadTo(out ReadOnlySequence<byte> header, HeaderEnd, advancePastDelimiter: true))
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (buffer.Length > MaxHeaderBytes) return (null, $"request header larger than {MaxHeaderBytes} bytes");
                if (result.IsCompleted) return (null, "the connection closed inside the request header");
                continue;
            }
            bool early = !scan.End;
            string? text = header.Length <= MaxHeaderBytes ? Encoding.Latin1.GetString(header) : null; // before AdvanceTo frees the buffer
            reader.AdvanceTo(scan.Position);
            if (text is null) return (null, $"request header larger than {MaxHeaderBytes} bytes");
            // A client must wait for the 101 before sending frames (RFC 6455 4.1); bytes here mean it did not.
            if (early) return (null, "data sent before the handshake was answered");
            return Check(text, path);
        }
    }

    private static (string? Key, string? Refusal) Check(string header, string path)
    {
        string[] lines = header.Split("\r\n");
        string[] request = lines[0].Split(' ');
        if (request.Length != 3 || request[0] != "GET") return (null, "not a GET request: the voice stream takes a WebSocket upgrade");
        if (request[2] != "HTTP/1.1") return (null, $"{request[2]}: the WebSocket upgrade needs HTTP/1.1");
        string target = request[1].Split('?')[0];
        if (target != path) return (null, $"unknown path '{target}': the voice stream is at {path}");

        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string line in lines.AsSpan(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0) return (null, "malformed header line (no name: value)");
            string name = line[..colon].Trim(), value = line[(colon + 1)..].Trim();
            fields[name] = fields.TryGetValue(name, out string? earlier) ? earlier + ", " + value : value;
        }

        if (!HasToken(fields, "Upgrade", "websocket")) return (null, "not a WebSocket upgrade (Upgrade: websocket is missing)");
        if (!HasToken(fields, "Connection", "upgrade")) return (null, "not a WebSocket upgrade (Connection: Upgrade is missing)");
        if (fields.GetValueOrDefault("Sec-WebSocket-Version") != "13")
            return (null, $"WebSocket version '{fields.GetValueOrDefault("Sec-WebSocket-Version")}' is not supported (13 is)");
        string key = fields.GetValueOrDefault("Sec-WebSocket-Key") ?? "";
        Span<byte> nonce = stackalloc byte[18];
        if (!Convert.TryFromBase64String(key, nonce, out int length) || length != 16) return (null, "Sec-WebSocket-Key is not 16 bytes in base64");
        return (key, null);
    }

    private static bool HasToken(Dictionary<string, string> fields, string name, string token) =>
        fields.TryGetValue(name, out string? value)
        && value.Split(',').Any(v => v.Trim().Equals(token, StringComparison.OrdinalIgnoreCase));

    /// <summary>The handshake's proof that the server read the key (a fixed transform, not a secret: hence SHA-1).</summary>
    public static string AcceptFor(string key)
    {
#pragma warning disable CA5350 // RFC 6455 mandates SHA-1 here; nothing relies on it for security
        return Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + AcceptGuid)));
#pragma warning restore CA5350
    }

    public static async Task AcceptAsync(Stream stream, string key, CancellationToken ct)
    {
        string response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + $"Sec-WebSocket-Accept: {AcceptFor(key)}\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(response), ct).ConfigureAwait(false);
        await stream.FlushAsync(ct).ConfigureAwait(false);
    }

    public static async Task RefuseAsync(Stream stream, string reason, CancellationToken ct)
    {
        byte[] body = Encoding.UTF8.GetBytes(reason + "\n");
        string head = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + $"Content-Length: {body.Length}\r\nSec-WebSocket-Version: 13\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), ct).ConfigureAwait(false);
        await stream.WriteAsync(body, ct).ConfigureAwait(false);
        await stream.FlushAsync(ct).ConfigureAwait(false);
    }
}
