namespace Alicia.Web;

/// <summary>The engine's web host (<c>Web</c> section): where it listens and who may look.</summary>
public sealed class WebOptions
{
    /// <summary>Off: no web host at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The address to bind: loopback by default; any other address needs <see cref="Token"/>.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>
    /// The TCP port; 0 picks a free one (tests). Unset: <see cref="DefaultPort"/>, or a free port when that one is taken
    /// (the URL is logged and printed by <c>alicia run</c>); a port set explicitly that is taken fails the start.
    /// </summary>
    public int? Port { get; set; }

    public const int DefaultPort = 8080;

    /// <summary>
    /// A shared secret for every page and endpoint except <c>/healthz</c> (Bearer header, or <c>?token=</c> for the
    /// browser page and its event stream). Required when <see cref="Address"/> is not loopback.
    /// </summary>
    public string Token { get; set; } = "";

    /// <summary>
    /// Where spans go (OTLP over HTTP/protobuf, e.g. <c>http://127.0.0.1:4318/v1/traces</c>); empty: no export, and the
    /// bus's spans are not even created (trace context still travels in every envelope).
    /// </summary>
    public string OtlpEndpoint { get; set; } = "";
}
