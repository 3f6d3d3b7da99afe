using System.Security.Cryptography.X509Certificates;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security.Identity;
using Alicia.Host.Commands;
using MQTTnet;

namespace Alicia.Security.Tests;

/// <summary>The identity service inside a running engine: TLS from the data directory, and CLI changes reaching it.</summary>
public sealed class EngineIdentityTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_cli_revocation_reaches_the_running_engine_and_its_tls_listener_serves_provisioned_devices()
    {
        Assert.Equal(0, CaCommand.Execute(["init", .. _dir.Options], TextWriter.Null, TextWriter.Null));
        Assert.Equal(0, DeviceIdentityCommand.Execute(["provision", "kitchen-sensor", "--type", "sensor", .. _dir.Options], TextWriter.Null, TextWriter.Null));
        int tlsPort = FreePort.Next();
        var options = new AliciaEngineOptions
        {
            KeyDirectory = _dir.Keys,
            DataDirectory = _dir.Data,
            Broker = new EmbeddedBrokerOptions { Port = 0, TlsPort = tlsPort },
        };
        var identity = new IdentityService(options, TimeSpan.FromMilliseconds(50));
        await using var engine = new AliciaEngine(options);
        engine.AddService(identity);
        await engine.StartAsync();
        Assert.Equal(tlsPort, engine.Broker!.TlsEndPoint!.Port);

        string bundle = DeviceProvisioner.DefaultBundleDirectory(_dir.Data, "kitchen-sensor");
        using X509Certificate2 cert = X509Certificate2.CreateFromPemFile(Path.Combine(bundle, "cert.pem"), Path.Combine(bundle, "key.pem"));
        using X509Certificate2 root = CertificateAuthority.LoadRoot(Path.Combine(bundle, "ca.pem"));
        (IMqttClient? client, string? error) = await TlsClients.TryConnect(TlsClients.Options(tlsPort, "kitchen-sensor", cert, root));
        Assert.True(client is not null, error);
        client!.Dispose();
        Assert.True(engine.Trust.TryGet("kitchen-sensor", out _));
        Assert.True(identity.Store.TryAuthenticate(cert, out _, out _));

        var changed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        identity.Store.Changed += id => changed.TrySetResult(id);
        Assert.Equal(0, DeviceIdentityCommand.Execute(["revoke", "kitchen-sensor", .. _dir.Options], TextWriter.Null, TextWriter.Null)); // another store instance: the CLI
        Assert.Equal("kitchen-sensor", await changed.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(identity.Store.TryAuthenticate(cert, out _, out string reason));
        Assert.Contains("revoked", reason);
        Assert.False(engine.Trust.TryGet("kitchen-sensor", out _)); // its signed messages are no longer accepted
    }

    [Fact]
    public async Task A_tls_port_without_a_ca_fails_with_a_clear_message()
    {
        var options = new AliciaEngineOptions
        {
            KeyDirectory = _dir.Keys,
            DataDirectory = _dir.Data,
            Broker = new EmbeddedBrokerOptions { Port = 0, TlsPort = FreePort.Next() },
        };
        await using var engine = new AliciaEngine(options);
        engine.AddService(new IdentityService(options));
        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => engine.StartAsync());
        Assert.Contains("alicia ca init", e.Message);
    }
}
