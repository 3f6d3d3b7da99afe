using System.Security.Cryptography.X509Certificates;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security.Identity;
using Alicia.Host.Commands;
using MQTTnet;

namespace Alicia.Security.Tests;

/// <summary>The identity service inside a running engine: TLS from the data directory, and CLI changes reaching it.</summary>
public sealed class EngineIdentityTests : IDisposable
{
    private readonly TempDirectory _dir = new("alicia-sec");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_cli_revocation_reaches_the_running_engine_and_its_tls_listener_serves_provisioned_devices()
    {
        Assert.Equal(0, CaCommand.Execute(["init", .. _dir.Options], TextWriter.Null, TextWriter.Null));
        Assert.Equal(0, DeviceIdentityCommand.Execute(["provision", "kitchen-sensor", "--type", "sensor", .. _dir.Options], TextWriter.Null, TextWriter.Null));
        int tlsPort = FreePort.Next();
        IdentityService identity = null!;
        await using TestEngine test = await TestEngine.StartAsync(o => o.Broker.TlsPort = tlsPort,
            e => e.AddService(identity = new IdentityService(e.Options, TimeSpan.FromMilliseconds(50))), directory: _dir);
        AliciaEngine engine = test.Engine;
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
        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => TestEngine.StartAsync(o => o.Broker.TlsPort = FreePort.Next(),
            engine => engine.AddService(new IdentityService(engine.Options)), directory: _dir));
        Assert.Contains("alicia ca init", e.Message);
    }
}
