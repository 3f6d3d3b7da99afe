using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Alicia.Engine.Security.Identity;
using MQTTnet;
using MQTTnet.Formatter;

namespace Alicia.Security.Tests;

/// <summary>The security tests' directories as the CLI is told about them.</summary>
internal static class CliDirectories
{
    extension(TempDirectory dir)
    {
        /// <summary>Configuration options every command gets: this test's data and key directories.</summary>
        public string[] Options => ["--DataDirectory", dir.Data, "--keys", dir.Keys];
    }
}

internal static class UnixModes
{
    public static UnixFileMode Of(string path) =>
        OperatingSystem.IsWindows() ? throw new PlatformNotSupportedException() : File.GetUnixFileMode(path) & (UnixFileMode)0x1FF;
}

/// <summary>A command's exit code and output.</summary>
internal sealed record CommandRun(int Exit, string Out, string Err)
{
    public static CommandRun Of(Func<TextWriter, TextWriter, int> command)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = command(stdout, stderr);
        return new CommandRun(exit, stdout.ToString(), stderr.ToString());
    }
}

/// <summary>MQTTnet clients over TLS with (or without) a client certificate.</summary>
internal static class TlsClients
{
    public static MqttClientOptions Options(int port, string clientId, X509Certificate2? clientCertificate, X509Certificate2 trustedRoot,
        SslProtocols protocols = SslProtocols.Tls13, string? username = null)
    {
        var validator = CertificateAuthority.CreateServerValidator(trustedRoot);
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", port)
            .WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithTimeout(TimeSpan.FromSeconds(10))
            .WithTlsOptions(o =>
            {
                o.UseTls().WithSslProtocols(protocols)
                    .WithCertificateValidationHandler(e => validator(e, e.Certificate, e.Chain, e.SslPolicyErrors));
                if (clientCertificate is not null) o.WithClientCertificates([clientCertificate]);
            });
        if (username is not null) builder.WithCredentials(username, "");
        return builder.Build();
    }

    /// <summary>Connects, or returns the failure (TLS refusal, connection reset, CONNACK reason).</summary>
    public static async Task<(IMqttClient? Client, string? Error)> TryConnect(MqttClientOptions options)
    {
        IMqttClient client = new MqttClientFactory().CreateMqttClient();
        try
        {
            MqttClientConnectResult result = await client.ConnectAsync(options);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                client.Dispose();
                return (null, result.ResultCode.ToString());
            }
            // Under TLS 1.3 a server that dislikes the client certificate says so after the client's handshake
            // finished; a round trip proves the session is really up.
            await client.PingAsync();
            return (client, null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            client.Dispose();
            return (null, e.GetType().Name + ": " + e.Message);
        }
    }
}
