namespace Alicia.Voice.Sonos;

/// <summary>
/// One SSDP search reply (<c>HTTP/1.1 200 OK</c> with LOCATION, ST, USN, SERVER headers), as a UPnP device answers an
/// M-SEARCH. Parsing only: Alicia is configured with speaker addresses, and its tests never send multicast.
/// </summary>
internal sealed record SsdpResponse(Uri Location, string SearchTarget, string Usn, string Server)
{
    /// <summary>A Sonos player: its SERVER names Sonos, or it answers as a ZonePlayer.</summary>
    public bool IsSonos => Server.Contains("Sonos", StringComparison.OrdinalIgnoreCase) || SearchTarget.Contains("ZonePlayer", StringComparison.Ordinal);

    /// <summary>The player's address and UPnP port (Sonos: 1400), from LOCATION.</summary>
    public string Address => Location.Authority;

    /// <summary>The reply, or null when it is not a well-formed search reply (a NOTIFY, a missing LOCATION ...).</summary>
    public static SsdpResponse? Parse(string datagram)
    {
        string[] lines = datagram.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        if (lines.Length == 0 || !lines[0].StartsWith("HTTP/1.1 200", StringComparison.OrdinalIgnoreCase)) return null;
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string line in lines.Skip(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0) continue;
            headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }
        if (!headers.TryGetValue("LOCATION", out string? location) || !Uri.TryCreate(location, UriKind.Absolute, out Uri? uri) || uri.Scheme != "http") return null;
        return new SsdpResponse(uri, headers.GetValueOrDefault("ST", ""), headers.GetValueOrDefault("USN", ""), headers.GetValueOrDefault("SERVER", ""));
    }
}
