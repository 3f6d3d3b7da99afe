using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Xml.Linq;

namespace Alicia.TestSupport;

/// <summary>One SOAP action a <see cref="FakeSonosDevice"/> received, with its arguments.</summary>
public sealed record SoapCall(string Service, string Action, IReadOnlyDictionary<string, string> Arguments);

/// <summary>
/// A FAKE Sonos player (no real speaker exists here): a UPnP/SOAP endpoint on 127.0.0.1 that answers AVTransport and
/// RenderingControl like a Sonos playing a radio stream, records every call, and, like a real player, fetches the URL
/// given by SetAVTransportURI when told to Play, reading the audio as it arrives (a stream may still be growing): the
/// first audio bytes are signalled (<see cref="FirstAudio"/>) and the whole clip is kept for the test to check
/// (<see cref="Fetched"/>). <see cref="GoOffline"/> makes it stop answering, as an unplugged speaker.
/// </summary>
public sealed class FakeSonosDevice : IAsyncDisposable
{
    public const string RadioUri = "x-rincon-mp3radio://radio.example/stream";
    public const string RadioMetadata = "<DIDL-Lite><item><dc:title>Radio</dc:title></item></DIDL-Lite>";
    public const int InitialVolume = 12;

    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<SoapCall> _calls = new();
    private readonly HttpClient _http = new();
    private readonly Task _serving;
    private readonly SemaphoreSlim _callArrived = new(0);
    private readonly SemaphoreSlim _fetchEnded = new(0);
    private readonly ConcurrentQueue<Task> _fetches = new();
    private readonly TaskCompletionSource<string> _firstAudio = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string _uri = RadioUri, _metadata = RadioMetadata, _state = "PLAYING";
    private int _volume = InitialVolume;

    public FakeSonosDevice()
    {
        Port = FreePort.Next();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _serving = ServeAsync();
    }

    public int Port { get; }

    /// <summary>What the engine is configured with: <c>127.0.0.1:port</c>.</summary>
    public string Address => $"127.0.0.1:{Port}";

    public IReadOnlyList<SoapCall> Calls => [.. _calls];

    /// <summary>Each clip fetched to its end from a SetAVTransportURI URL: (URL, bytes).</summary>
    public ConcurrentQueue<(string Url, byte[] Audio)> Fetched { get; } = new();

    /// <summary>Completes (with the URL) when a fetch has received its first audio bytes past the 44-byte WAV header.</summary>
    public Task<string> FirstAudio => _firstAudio.Task;

    /// <summary>Waits until <paramref name="count"/> clips have been fetched to their end.</summary>
    public async Task WaitForFetchesAsync(int count, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (Fetched.Count < count)
        {
            try { await _fetchEnded.WaitAsync(cts.Token); }
            catch (OperationCanceledException) { throw new TimeoutException($"the fake Sonos fetched {Fetched.Count} of {count} clips"); }
        }
    }

    public string CurrentUri => _uri;
    public string TransportState => _state;
    public int Volume => _volume;

    /// <summary>Waits until a call matching <paramref name="match"/> has arrived; returns it.</summary>
    public async Task<SoapCall> WaitForCallAsync(Func<SoapCall, bool> match, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            if (_calls.FirstOrDefault(match) is { } found) return found;
            try { await _callArrived.WaitAsync(cts.Token); }
            catch (OperationCanceledException) { throw new TimeoutException("the fake Sonos got no such call; calls: " + string.Join(", ", _calls.Select(c => c.Action))); }
        }
    }

    public void GoOffline() => _listener.Stop();

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            try { await AnswerAsync(context); }
            catch (Exception e) when (e is HttpListenerException or IOException or HttpRequestException) { }
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        string body = await new StreamReader(context.Request.InputStream, Encoding.UTF8).ReadToEndAsync();
        string soapAction = (context.Request.Headers["SOAPACTION"] ?? "").Trim('"');
        int hash = soapAction.IndexOf('#', StringComparison.Ordinal);
        string service = hash < 0 ? "" : soapAction[..hash], action = hash < 0 ? "" : soapAction[(hash + 1)..];
        XElement? call = XDocument.Parse(body).Descendants().FirstOrDefault(e => e.Name.LocalName == action);
        var arguments = call?.Elements().ToDictionary(e => e.Name.LocalName, e => e.Value) ?? [];
        string result = "";
        switch (action)
        {
            case "GetMediaInfo": result = $"<NrTracks>1</NrTracks><CurrentURI>{Escape(_uri)}</CurrentURI><CurrentURIMetaData>{Escape(_metadata)}</CurrentURIMetaData>"; break;
            case "GetTransportInfo": result = $"<CurrentTransportState>{_state}</CurrentTransportState><CurrentTransportStatus>OK</CurrentTransportStatus>"; break;
            case "GetVolume": result = $"<CurrentVolume>{_volume}</CurrentVolume>"; break;
            case "SetVolume": _volume = int.Parse(arguments.GetValueOrDefault("DesiredVolume", "0"), System.Globalization.CultureInfo.InvariantCulture); break;
            case "SetAVTransportURI":
                _uri = arguments.GetValueOrDefault("CurrentURI", "");
                _metadata = arguments.GetValueOrDefault("CurrentURIMetaData", "");
                _state = "STOPPED";
                break;
            case "Play":
                _state = "PLAYING";
                // A real player fetches the URL it was given and plays it as it arrives.
                if (_uri.StartsWith("http://", StringComparison.Ordinal)) _fetches.Enqueue(FetchAsync(_uri));
                break;
            default:
                context.Response.StatusCode = 500;
                break;
        }
        _calls.Enqueue(new SoapCall(service, action, arguments));
        _callArrived.Release();
        byte[] response = Encoding.UTF8.GetBytes(
            $"<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><u:{action}Response xmlns:u=\"{service}\">{result}</u:{action}Response></s:Body></s:Envelope>");
        context.Response.ContentType = "text/xml; charset=\"utf-8\"";
        context.Response.ContentLength64 = response.Length;
        await context.Response.OutputStream.WriteAsync(response);
        context.Response.Close();
    }

    private async Task FetchAsync(string url)
    {
        try
        {
            using HttpResponseMessage response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            await using Stream body = await response.Content.ReadAsStreamAsync();
            var audio = new MemoryStream();
            var buffer = new byte[4096];
            for (int n; (n = await body.ReadAsync(buffer)) > 0;)
            {
                audio.Write(buffer, 0, n);
                if (audio.Length > 44) _firstAudio.TrySetResult(url);
            }
            Fetched.Enqueue((url, audio.ToArray()));
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
        {
            _firstAudio.TrySetException(e);
        }
        finally
        {
            _fetchEnded.Release();
        }
    }

    private static string Escape(string s) => System.Security.SecurityElement.Escape(s) ?? "";

    public async ValueTask DisposeAsync()
    {
        if (_listener.IsListening) _listener.Stop();
        _listener.Close();
        await _serving;
        foreach (Task fetch in _fetches) await fetch;
        _http.Dispose();
    }
}
