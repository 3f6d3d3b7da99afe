using System.Net.Security;
using Alicia.Engine.Bus.InMemory;
using Alicia.Engine.Security.Identity;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;

namespace Alicia.Engine.Bus;

/// <summary>
/// TLS for a client connection (<c>mqtts://</c>): TLS 1.2+ (1.3 preferred by the platform), the client
/// certificate from a provisioning bundle, and, when a CA file is given, trust in that CA only (a home
/// broker's certificate comes from our own CA, not a public one).
/// </summary>
internal static class BrokerTls
{
    public static void Configure(MqttClientTlsOptionsBuilder tls, BusOptions? options)
    {
        tls.UseTls();
        if (options is null) return;
        if (options.ClientCertificatePath is { } certPath)
        {
            X509Certificate2 certificate = X509Certificate2.CreateFromPemFile(certPath, options.ClientKeyPath ?? throw new ArgumentException("Bus:ClientKeyPath is needed with Bus:ClientCertificatePath"));
            tls.WithClientCertificates([certificate]);
        }
        if (options.CaCertificatePath is { } caPath)
        {
            RemoteCertificateValidationCallback trust = ServerTrust.Callback(ServerTrust.LoadRoot(caPath));
            tls.WithCertificateValidationHandler(e => trust(e, e.Certificate, e.Chain, e.SslPolicyErrors));
        }
    }
}

/// <summary>The MQTT 5 client options every connection of ours starts from (bus clients and raw links alike).</summary>
internal static class ClientOptions
{
    public static MqttClientOptionsBuilder For(BrokerEndpoint endpoint, string clientId, string? username = null, byte[]? password = null, BusOptions? tls = null)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithClientId(clientId)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithCleanStart()
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(15))
            .WithTimeout(TimeSpan.FromSeconds(10))
            // In process the address is a placeholder: the client's adapter factory connects the pipes (CreateClient).
            .WithTcpServer(endpoint.InMemory is null ? endpoint.Host : "in-memory", endpoint.InMemory is null ? endpoint.Port : 1883);
        if (endpoint.UseTls) builder.WithTlsOptions(o => BrokerTls.Configure(o, tls));
        if (username is not null) builder.WithCredentials(username, password);
        return builder;
    }

    /// <summary>An MQTTnet client for <paramref name="endpoint"/>: read and written through pipes (in-process connections: both ends of the pipes directly).</summary>
    public static IMqttClient CreateClient(BrokerEndpoint endpoint) => endpoint.InMemory is { } adapter
        ? new MqttClientFactory().CreateMqttClient(MQTTnet.Diagnostics.Logger.MqttNetNullLogger.Instance, new InMemoryClientAdapterFactory(adapter))
        : new MqttClientFactory().CreateMqttClient(MQTTnet.Diagnostics.Logger.MqttNetNullLogger.Instance, Transport.PipeClientAdapterFactory.Instance);
}
