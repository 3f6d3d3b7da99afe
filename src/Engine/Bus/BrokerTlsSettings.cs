using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Alicia.Engine.Bus;

/// <summary>TLS settings of the embedded broker's encrypted listener.</summary>
public sealed class BrokerTlsSettings
{
    public required X509Certificate2 ServerCertificate { get; init; }

    /// <summary>Validates a client certificate chain against the CA; required client certificates when set.</summary>
    public required RemoteCertificateValidationCallback ClientCertificateValidator { get; init; }
}
