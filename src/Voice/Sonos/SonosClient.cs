using System.Globalization;
using System.Security;
using System.Text;
using System.Xml.Linq;

namespace Alicia.Voice.Sonos;

/// <summary>What a Sonos player was doing before an announcement, to put back afterwards.</summary>
internal sealed record SonosState(string Uri, string Metadata, string TransportState, int Volume)
{
    public bool WasPlaying => TransportState == "PLAYING";
}

/// <summary>
/// UPnP/SOAP to a Sonos player (port 1400): AVTransport (GetMediaInfo, GetTransportInfo, SetAVTransportURI, Play) and
/// RenderingControl (GetVolume, SetVolume), instance 0, master channel.
/// </summary>
internal sealed class SonosClient(HttpClient http, Uri baseAddress)
{
    private const string AvTransport = "urn:schemas-upnp-org:service:AVTransport:1";
    private const string RenderingControl = "urn:schemas-upnp-org:service:RenderingControl:1";

    public Uri BaseAddress => baseAddress;

    public async Task<SonosState> GetStateAsync(CancellationToken ct)
    {
        XElement media = await CallAsync(AvTransport, "GetMediaInfo", [], ct).ConfigureAwait(false);
        XElement transport = await CallAsync(AvTransport, "GetTransportInfo", [], ct).ConfigureAwait(false);
        return new SonosState(Value(media, "CurrentURI"), Value(media, "CurrentURIMetaData"), Value(transport, "CurrentTransportState"),
            await GetVolumeAsync(ct).ConfigureAwait(false));
    }

    /// <summary>The master volume (0-100), or -1 when the player's answer has none.</summary>
    public async Task<int> GetVolumeAsync(CancellationToken ct)
    {
        XElement volume = await CallAsync(RenderingControl, "GetVolume", [("Channel", "Master")], ct).ConfigureAwait(false);
        return int.TryParse(Value(volume, "CurrentVolume"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : -1;
    }

    public Task SetUriAsync(string uri, string metadata, CancellationToken ct) =>
        CallAsync(AvTransport, "SetAVTransportURI", [("CurrentURI", uri), ("CurrentURIMetaData", metadata)], ct);

    public Task PlayAsync(CancellationToken ct) => CallAsync(AvTransport, "Play", [("Speed", "1")], ct);

    public Task SetVolumeAsync(int volume, CancellationToken ct) =>
        CallAsync(RenderingControl, "SetVolume", [("Channel", "Master"), ("DesiredVolume", volume.ToString(CultureInfo.InvariantCulture))], ct);

    private async Task<XElement> CallAsync(string service, string action, (string Name, string Value)[] arguments, CancellationToken ct)
    {
        var body = new StringBuilder();
        body.Append("<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>");
        body.Append(CultureInfo.InvariantCulture, $"<u:{action} xmlns:u=\"{service}\"><InstanceID>0</InstanceID>");
        foreach ((string name, string value) in arguments) body.Append(CultureInfo.InvariantCulture, $"<{name}>{SecurityElement.Escape(value)}</{name}>");
        body.Append(CultureInfo.InvariantCulture, $"</u:{action}></s:Body></s:Envelope>");

        string path = service == AvTransport ? "/MediaRenderer/AVTransport/Control" : "/MediaRenderer/RenderingControl/Control";
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseAddress, path))
        {
            Content = new StringContent(body.ToString(), Encoding.UTF8, "text/xml"),
        };
        request.Headers.TryAddWithoutValidation("SOAPACTION", $"\"{service}#{action}\"");
        using HttpResponseMessage response = await http.SendAsync(request, ct).ConfigureAwait(false);
        string text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw new IOException($"Sonos {baseAddress.Authority}: {action} failed with HTTP {(int)response.StatusCode}");
        XElement? result = XDocument.Parse(text).Descendants().FirstOrDefault(e => e.Name.LocalName == action + "Response");
        return result ?? throw new IOException($"Sonos {baseAddress.Authority}: {action} answered without {action}Response");
    }

    private static string Value(XElement response, string name) => response.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value ?? "";
}
