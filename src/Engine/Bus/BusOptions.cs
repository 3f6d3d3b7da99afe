namespace Alicia.Engine.Bus;

public sealed class BusOptions
{
    /// <summary>The MQTT client id; defaults to the identity name plus a short random suffix.</summary>
    public string? ClientId { get; set; }

    /// <summary>MQTT username (services authenticating with a password, or the engine in process).</summary>
    public string? Username { get; set; }

    public byte[]? Password { get; set; }

    /// <summary>Sensitive topic filters: payloads on them must be sealed (sent encrypted, refused when clear).</summary>
    public List<string> EncryptedTopics { get; set; } = [];

    /// <summary>For <c>mqtts://</c>: this client's certificate (PEM), e.g. a provisioning bundle's <c>cert.pem</c>.</summary>
    public string? ClientCertificatePath { get; set; }

    /// <summary>For <c>mqtts://</c>: the certificate's private key (PEM, <c>key.pem</c>).</summary>
    public string? ClientKeyPath { get; set; }

    /// <summary>For <c>mqtts://</c>: the CA that signed the broker's certificate (<c>ca.pem</c>); only it is trusted.</summary>
    public string? CaCertificatePath { get; set; }

    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(10);
}
