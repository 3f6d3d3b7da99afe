using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Alicia.Engine.Bus;
using Alicia.Engine.Security;
using Alicia.Engine.Security.Gateway;
using Alicia.Engine.Security.Identity;
using MQTTnet;
using MQTTnet.Protocol;

namespace Alicia.Security.Tests;

/// <summary>The embedded MQTTnet broker's TLS 1.3 listener with the settings from our CA.</summary>
public sealed class EmbeddedBrokerTlsTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new("alicia-sec");
    private CertificateAuthority _ca = null!;
    private IdentityStore _store = null!;
    private EmbeddedBroker _broker = null!;
    private int _port;

    public async Task InitializeAsync()
    {
        _ca = CertificateAuthority.Init(_dir.Data);
        _store = IdentityStore.Open(_dir.Data);
        _port = FreePort.Next();
        _broker = new EmbeddedBroker(new EmbeddedBrokerOptions { ListenTcp = false, TlsPort = _port }) { Tls = _ca.CreateBrokerTlsSettings() };
        // A minimal stand-in for the gateway: the certificate must belong to an active identity, and be used under its own name.
        _broker.Configuring += server => server.ValidatingConnectionAsync += e =>
        {
            if (e.ClientCertificate is not { } cert || !_store.TryAuthenticate(cert, out IdentityRecord identity, out string reason))
            {
                e.ReasonCode = MqttConnectReasonCode.NotAuthorized;
                return Task.CompletedTask;
            }
            if (identity.Id != e.ClientId) e.ReasonCode = MqttConnectReasonCode.ClientIdentifierNotValid;
            return Task.CompletedTask;
        };
        await _broker.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        _store.Dispose();
        _ca.Dispose();
        _dir.Dispose();
    }

    private X509Certificate2 Provision(string id, IdentityKind kind = IdentityKind.Sensor)
    {
        X509Certificate2 cert = _ca.IssueClientCertificate(id, kind);
        using var key = SigningIdentity.Create(id);
        _store.Add(id, kind, [], cert, key.PublicKeyBase64);
        return cert;
    }

    private X509Certificate2 Root => CertificateAuthority.LoadRoot(_ca.CertificatePath);

    [Fact]
    public async Task A_client_with_our_certificate_connects_over_tls13_and_exchanges_messages()
    {
        Assert.NotNull(_broker.TlsEndPoint);
        using X509Certificate2 cert = Provision("kitchen-sensor");
        (IMqttClient? client, string? error) = await TlsClients.TryConnect(TlsClients.Options(_port, "kitchen-sensor", cert, Root, SslProtocols.Tls13));
        Assert.True(client is not null, error);
        using (client)
        {
            var got = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            client.ApplicationMessageReceivedAsync += e => { got.TrySetResult(e.ApplicationMessage.ConvertPayloadToString()); return Task.CompletedTask; };
            await client.SubscribeAsync("alicia/devices/kitchen-sensor/command", MqttQualityOfServiceLevel.AtLeastOnce);
            await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("alicia/devices/kitchen-sensor/command").WithPayload("on")
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
            Assert.Equal("on", await got.Task.WaitAsync(TimeSpan.FromSeconds(10)));
            await client.DisconnectAsync();
        }
    }

    [Fact]
    public async Task A_tls12_only_client_is_refused()
    {
        using X509Certificate2 cert = Provision("old-client");
        (IMqttClient? client, string? error) = await TlsClients.TryConnect(TlsClients.Options(_port, "old-client", cert, Root, SslProtocols.Tls12));
        Assert.Null(client);
        Assert.NotNull(error);
    }

    [Fact]
    public async Task A_client_with_a_foreign_certificate_or_none_is_refused()
    {
        using var foreignDir = new TempDirectory("alicia-sec");
        using CertificateAuthority foreign = CertificateAuthority.Init(foreignDir.Data);
        using X509Certificate2 forged = foreign.IssueClientCertificate("kitchen-sensor", IdentityKind.Sensor);
        // Refused by the TLS layer (BrokerTlsSettings' validator), before any CONNECT is read.
        (IMqttClient? client, string? error) = await TlsClients.TryConnect(TlsClients.Options(_port, "kitchen-sensor", forged, Root));
        Assert.Null(client);
        Assert.NotNull(error);
        Assert.DoesNotContain("NotAuthorized", error);

        (client, error) = await TlsClients.TryConnect(TlsClients.Options(_port, "nobody", null, Root));
        Assert.Null(client);
        Assert.NotNull(error);
        Assert.DoesNotContain("NotAuthorized", error);

        // And the client refuses a broker whose certificate is not from the CA it trusts.
        using X509Certificate2 cert = Provision("careful-client");
        (client, error) = await TlsClients.TryConnect(TlsClients.Options(_port, "careful-client", cert, CertificateAuthority.LoadRoot(foreign.CertificatePath)));
        Assert.Null(client);
        Assert.NotNull(error);
    }

    [Fact]
    public async Task A_revoked_or_superseded_certificate_and_a_borrowed_client_id_are_refused_at_connect()
    {
        using X509Certificate2 cert = Provision("garage-door", IdentityKind.Actuator);
        (IMqttClient? client, string? error) = await TlsClients.TryConnect(TlsClients.Options(_port, "someone-else", cert, Root));
        Assert.Null(client);
        Assert.Contains("ClientIdentifierNotValid", error);

        _store.Revoke("garage-door");
        (client, error) = await TlsClients.TryConnect(TlsClients.Options(_port, "garage-door", cert, Root));
        Assert.Null(client);
        Assert.Contains("NotAuthorized", error);

        using X509Certificate2 first = Provision("hall-light", IdentityKind.Actuator);
        using X509Certificate2 second = _ca.IssueClientCertificate("hall-light", IdentityKind.Actuator);
        _store.Renew("hall-light", second, SigningIdentity.Create("hall-light").PublicKeyBase64, TimeSpan.Zero);
        (client, error) = await TlsClients.TryConnect(TlsClients.Options(_port, "hall-light", first, Root));
        Assert.Null(client);
        (client, error) = await TlsClients.TryConnect(TlsClients.Options(_port, "hall-light", second, Root));
        Assert.True(client is not null, error);
        client!.Dispose();
    }

    [Fact]
    public async Task Over_tls_a_connect_announcing_100_MB_is_closed_before_it_is_buffered()
    {
        using X509Certificate2 cert = Provision("porch-sensor");
        (IMqttClient? client, string? error) = await TlsClients.TryConnect(TlsClients.Options(_port, "porch-sensor", cert, Root, SslProtocols.Tls13));
        Assert.True(client is not null, error);
        using (client) Assert.True(client.IsConnected);

        // The guard reads the decrypted stream: a CONNECT announcing 100 MB, followed by 4 KB, is closed.
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, _port);
        await using var ssl = new System.Net.Security.SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await ssl.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ClientCertificates = [cert],
            EnabledSslProtocols = SslProtocols.Tls13,
        });
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        byte[] attack = [0x10, 0x80, 0xC2, 0xD7, 0x2F, .. new byte[4096]]; // remaining length 100,000,000
        await ssl.WriteAsync(attack);
        await ssl.FlushAsync();
        int read;
        try { read = await ssl.ReadAsync(new byte[64]).AsTask().WaitAsync(TimeSpan.FromSeconds(10)); }
        catch (IOException) { read = 0; }
        Assert.Equal(0, read);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore < 32 * 1024 * 1024);

        (IMqttClient? after, error) = await TlsClients.TryConnect(TlsClients.Options(_port, "porch-sensor", cert, Root, SslProtocols.Tls13));
        Assert.True(after is not null, error);
        after!.Dispose();
    }
}
