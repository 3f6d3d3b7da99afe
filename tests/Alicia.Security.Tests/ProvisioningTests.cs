using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Alicia.Engine.Security;
using Alicia.Engine.Security.Gateway;
using Alicia.Engine.Security.Identity;
using Alicia.Host.Commands;

namespace Alicia.Security.Tests;

public sealed class ProvisioningTests : IDisposable
{
    private readonly TempDirectory _dir = new("alicia-sec");

    public void Dispose() => _dir.Dispose();

    private CommandRun Run(Func<string[], TextWriter, TextWriter, int> command, params string[] args) =>
        CommandRun.Of((o, e) => command([.. args, .. _dir.Options], o, e));

    [Fact]
    public void Provisioning_writes_an_installable_bundle_and_the_engine_trusts_the_device_key()
    {
        Assert.Equal(0, Run(CaCommand.Execute, "init").Exit);
        CommandRun run = Run(DeviceIdentityCommand.Execute, "provision", "kitchen-sensor", "--type", "sensor", "--broker-url", "mqtts://hub.local:8883");
        Assert.True(run.Exit == 0, run.Err);
        Assert.Contains("provisioned sensor 'kitchen-sensor'", run.Out);

        string bundle = DeviceProvisioner.DefaultBundleDirectory(_dir.Data, "kitchen-sensor");
        foreach (string f in new[] { "ca.pem", "cert.pem", "key.pem", "kitchen-sensor.key", "kitchen-sensor.pub", "device.json" })
            Assert.True(File.Exists(Path.Combine(bundle, f)), f);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, UnixModes.Of(Path.Combine(bundle, "key.pem")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, UnixModes.Of(Path.Combine(bundle, "kitchen-sensor.key")));

        // The certificate and key pair up, and chain to the CA in the bundle.
        using X509Certificate2 cert = X509Certificate2.CreateFromPemFile(Path.Combine(bundle, "cert.pem"), Path.Combine(bundle, "key.pem"));
        Assert.True(cert.HasPrivateKey);
        Assert.Equal("kitchen-sensor", CertificateAuthority.CommonNameOf(cert));
        using X509Certificate2 root = CertificateAuthority.LoadRoot(Path.Combine(bundle, "ca.pem"));
        Assert.True(CertificateAuthority.ChainsTo(cert, root, CertificateAuthority.ClientAuthOid, DateTimeOffset.UtcNow, out string problem), problem);

        using JsonDocument device = JsonDocument.Parse(File.ReadAllText(Path.Combine(bundle, "device.json")));
        JsonElement d = device.RootElement;
        Assert.Equal("kitchen-sensor", d.GetProperty("id").GetString());
        Assert.Equal("sensor", d.GetProperty("type").GetString());
        Assert.Equal("mqtts://hub.local:8883", d.GetProperty("brokers")[0].GetString());
        Assert.Equal("kitchen-sensor.key", d.GetProperty("signing_key").GetString());
        Assert.Contains("alicia/devices/kitchen-sensor/#", d.GetProperty("publish").EnumerateArray().Select(e => e.GetString()));

        // The bundle is the device's key directory; the engine's trust store picks up its public key.
        using SigningIdentity deviceKey = new KeyDirectory(bundle).Load("kitchen-sensor");
        var trust = new TrustStore(new KeyDirectory(_dir.Keys));
        Assert.True(trust.TryGet("kitchen-sensor", out NSec.Cryptography.PublicKey trusted));
        Assert.True(trusted.Equals(deviceKey.PublicKey));
        Assert.False(new KeyDirectory(_dir.Keys).Exists("kitchen-sensor")); // the private key is only in the bundle

        using (IdentityStore store = IdentityStore.Open(_dir.Data))
        {
            Assert.True(store.TryAuthenticate(cert, out IdentityRecord identity, out string reason), reason);
            Assert.Equal(IdentityKind.Sensor, identity.Kind);
        }

        // Provisioning twice is refused; revocation removes the trusted key.
        Assert.Equal(1, Run(DeviceIdentityCommand.Execute, "provision", "kitchen-sensor", "--type", "sensor").Exit);
        run = Run(DeviceIdentityCommand.Execute, "revoke", "kitchen-sensor", "--reason", "replaced");
        Assert.True(run.Exit == 0, run.Err);
        Assert.False(File.Exists(Path.Combine(_dir.Keys, "kitchen-sensor.pub")));
        Assert.False(new TrustStore(new KeyDirectory(_dir.Keys)).TryGet("kitchen-sensor", out _));
        using (IdentityStore store = IdentityStore.Open(_dir.Data))
            Assert.False(store.TryAuthenticate(cert, out _, out _));
        Assert.Equal(1, Run(DeviceIdentityCommand.Execute, "revoke", "kitchen-sensor").Exit);
    }

    [Fact]
    public void A_service_gets_roles_and_a_password_from_the_environment()
    {
        Assert.Equal(0, Run(CaCommand.Execute, "init").Exit);
        CommandRun run = CommandRun.Of((o, e) => DeviceIdentityCommand.Execute(
            ["provision", "stt-1", "--type", "service", "--role", "stt", "--password-from-env", "STT_PASSWORD", .. _dir.Options], o, e,
            name => name == "STT_PASSWORD" ? "s3cret" : null));
        Assert.True(run.Exit == 0, run.Err);
        Assert.DoesNotContain("s3cret", run.Out + run.Err);
        using IdentityStore store = IdentityStore.Open(_dir.Data);
        Assert.True(store.TryAuthenticate("stt-1", "s3cret"u8, out IdentityRecord identity, out string reason), reason);
        Assert.Equal(["stt"], identity.Roles);

        Assert.Equal(2, Run(DeviceIdentityCommand.Execute, "provision", "x", "--type", "service", "--role", "nope").Exit);
        Assert.Equal(2, Run(DeviceIdentityCommand.Execute, "provision", "y", "--type", "toaster").Exit);
        Assert.Equal(2, Run(DeviceIdentityCommand.Execute, "provision", "z", "--type", "service", "--password-from-env", "UNSET_VARIABLE_FOR_TEST").Exit);
        Assert.Equal(2, Run(DeviceIdentityCommand.Execute, "provision", "../etc", "--type", "sensor").Exit);
    }

    [Fact]
    public void A_local_service_with_a_key_pair_keeps_its_signing_key()
    {
        Assert.Equal(0, Run(CaCommand.Execute, "init").Exit);
        using SigningIdentity engine = new KeyDirectory(_dir.Keys).Create("alicia-engine");
        CommandRun run = Run(DeviceIdentityCommand.Execute, "provision", "alicia-engine", "--type", "service", "--role", "engine");
        Assert.True(run.Exit == 0, run.Err);
        string bundle = DeviceProvisioner.DefaultBundleDirectory(_dir.Data, "alicia-engine");
        Assert.False(File.Exists(Path.Combine(bundle, "alicia-engine.key")));
        using IdentityStore store = IdentityStore.Open(_dir.Data);
        Assert.Equal(engine.PublicKeyBase64, store.Find("alicia-engine")!.PublicKey);
    }

    [Fact]
    public void Renewal_rotates_certificate_and_signing_key_with_an_overlap()
    {
        Assert.Equal(0, Run(CaCommand.Execute, "init").Exit);
        Assert.Equal(0, Run(DeviceIdentityCommand.Execute, "provision", "hall-sensor", "--type", "sensor").Exit);
        string bundle = DeviceProvisioner.DefaultBundleDirectory(_dir.Data, "hall-sensor");
        using X509Certificate2 before = X509Certificate2.CreateFromPemFile(Path.Combine(bundle, "cert.pem"), Path.Combine(bundle, "key.pem"));
        string keyBefore = File.ReadAllText(Path.Combine(bundle, "hall-sensor.pub"));

        CommandRun run = Run(DeviceIdentityCommand.Execute, "renew", "hall-sensor", "--overlap", "2h");
        Assert.True(run.Exit == 0, run.Err);
        Assert.Contains("valid until", run.Out);
        using X509Certificate2 after = X509Certificate2.CreateFromPemFile(Path.Combine(bundle, "cert.pem"), Path.Combine(bundle, "key.pem"));
        Assert.NotEqual(before.SerialNumber, after.SerialNumber);
        Assert.NotEqual(keyBefore, File.ReadAllText(Path.Combine(bundle, "hall-sensor.pub")));
        Assert.Equal(File.ReadAllText(Path.Combine(bundle, "hall-sensor.pub")), File.ReadAllText(Path.Combine(_dir.Keys, "hall-sensor.pub")));

        using IdentityStore store = IdentityStore.Open(_dir.Data);
        Assert.True(store.TryAuthenticate(before, out _, out string reason), reason); // inside the overlap
        Assert.True(store.TryAuthenticate(after, out _, out reason), reason);
        IdentityEntry entry = store.Find("hall-sensor")!;
        CertificateEntry previous = Assert.Single(entry.Certificates, c => c.State == CertificateState.Previous);
        Assert.InRange(previous.ValidUntil!.Value - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(110), TimeSpan.FromMinutes(121));

        run = Run(DeviceIdentityCommand.Execute, "list");
        Assert.Contains("hall-sensor\tsensor\t-\tactive (renewing", run.Out);
        Assert.Equal(1, Run(DeviceIdentityCommand.Execute, "renew", "nobody").Exit);
        // Option errors are usage errors: exit code 2 with a message naming the option.
        run = Run(DeviceIdentityCommand.Execute, "renew", "hall-sensor", "--overlap", "soon");
        Assert.Equal(2, run.Exit);
        Assert.Contains("--overlap: 'soon' is not a duration", run.Err);
    }

    [Fact]
    public void Commands_without_a_ca_say_how_to_create_one()
    {
        CommandRun run = Run(DeviceIdentityCommand.Execute, "provision", "a", "--type", "sensor");
        Assert.Equal(1, run.Exit);
        Assert.Contains("alicia ca init", run.Err);
        run = Run(BrokerCommand.Execute, "config", "mosquitto");
        Assert.Equal(1, run.Exit);
        Assert.Contains("alicia ca init", run.Err);
        Assert.Equal(2, Run(CaCommand.Execute).Exit);
        Assert.Equal(2, Run(DeviceIdentityCommand.Execute, "frobnicate").Exit);
        Assert.Equal(0, Run(CaCommand.Execute, "init").Exit);
        Assert.Equal(1, Run(CaCommand.Execute, "init").Exit); // never replaced silently
        Assert.Contains("sha256", Run(CaCommand.Execute, "show").Out);
    }

    [Fact]
    public void Broker_config_mosquitto_writes_listeners_tls_and_an_acl_from_the_policy()
    {
        Assert.Equal(0, Run(CaCommand.Execute, "init").Exit);
        Assert.Equal(0, Run(DeviceIdentityCommand.Execute, "provision", "kitchen-sensor", "--type", "sensor").Exit);
        Assert.Equal(0, Run(DeviceIdentityCommand.Execute, "provision", "stt-1", "--type", "service", "--role", "stt").Exit);
        Assert.Equal(0, Run(DeviceIdentityCommand.Execute, "provision", "old-speaker", "--type", "speaker").Exit);
        Assert.Equal(0, Run(DeviceIdentityCommand.Execute, "revoke", "old-speaker").Exit);
        string outDir = _dir.Sub("mosquitto");
        CommandRun run = Run(BrokerCommand.Execute, "config", "mosquitto", "--out", outDir, "--port", "18883", "--plain-port", "11883");
        Assert.True(run.Exit == 0, run.Err);
        Assert.Contains("2 active identities", run.Out);

        string conf = File.ReadAllText(Path.Combine(outDir, "mosquitto.conf"));
        Assert.Contains("per_listener_settings true", conf);
        Assert.Contains("listener 11883 127.0.0.1\nallow_anonymous true\nacl_file " + Path.Combine(outDir, "alicia-plain.acl"), conf);
        Assert.Contains("listener 18883\n", conf);
        Assert.Contains($"cafile {Path.Combine(outDir, "ca.pem")}", conf);
        Assert.Contains($"certfile {Path.Combine(outDir, "server.pem")}", conf);
        Assert.Contains($"keyfile {Path.Combine(outDir, "server.key")}", conf);
        Assert.Contains($"crlfile {Path.Combine(outDir, "crl.pem")}", conf);
        Assert.Contains("require_certificate true", conf);
        Assert.Contains("use_identity_as_username true", conf);
        Assert.Contains("tls_version tlsv1.3", conf);
        Assert.Contains("allow_anonymous false", conf);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, UnixModes.Of(Path.Combine(outDir, "server.key")));

        string acl = File.ReadAllText(Path.Combine(outDir, "alicia.acl"));
        Assert.Contains("user kitchen-sensor\n", acl);
        Assert.Contains("topic write alicia/devices/kitchen-sensor/#\n", acl);
        Assert.Contains("topic read alicia/devices/kitchen-sensor/command\n", acl);
        Assert.Contains("topic write alicia/devices/sensors/telemetry\n", acl);
        Assert.Contains("user stt-1\n", acl);
        Assert.Contains("topic write alicia/voice/stt/response\n", acl);
        Assert.Contains("topic read alicia/devices/+/audio\n", acl);
        Assert.DoesNotContain("old-speaker", acl); // revoked: no grants
        // Every grant of the policy appears, and nothing else: the ACL is the policy.
        foreach (AclGrant g in AclPolicy.GrantsFor(new IdentityRecord("kitchen-sensor", IdentityKind.Sensor)))
            Assert.Contains($"topic {(g.Action == AclAction.Publish ? "write" : "read")} {g.Filter}\n", acl);
        Assert.Equal("topic read alicia/#", File.ReadAllLines(Path.Combine(outDir, "alicia-plain.acl")).Last(l => !l.StartsWith('#')));
        // Voice session responses (one-time tokens) are private to their requester: never readable by anonymous readers.
        Assert.Contains("pattern read alicia/voice/session/response/%u\n", acl);
        Assert.Contains("topic read alicia/voice/session/response/kitchen-sensor\n", acl);
        Assert.Contains("topic deny alicia/voice/session/response/#\n", File.ReadAllText(Path.Combine(outDir, "alicia-plain.acl")));

        // The CRL lists the revoked speaker's certificate.
        using IdentityStore store = IdentityStore.Open(_dir.Data);
        string serial = store.Find("old-speaker")!.Certificates.Single().Serial;
        var crl = CertificateRevocationListBuilder.LoadPem(File.ReadAllText(Path.Combine(outDir, "crl.pem")), out _);
        Assert.True(crl.RemoveEntry(Convert.FromHexString(serial)));

        // No plain listener, and no anonymous access, when asked.
        run = Run(BrokerCommand.Execute, "config", "mosquitto", "--out", outDir, "--plain-port", "0", "--user", "mosquitto");
        conf = File.ReadAllText(Path.Combine(outDir, "mosquitto.conf"));
        Assert.DoesNotContain("1883", conf);
        Assert.Contains("listener 8883\n", conf);
        Assert.Contains("user mosquitto\n", conf);
    }

    [Fact]
    public void The_bundle_names_the_configured_tls_port_not_8883()
    {
        Assert.Equal(0, Run(CaCommand.Execute, "init").Exit);
        CommandRun run = Run(DeviceIdentityCommand.Execute, "provision", "porch-sensor", "--type", "sensor", "--Broker:TlsPort=9883");
        Assert.True(run.Exit == 0, run.Err);
        using JsonDocument device = JsonDocument.Parse(File.ReadAllText(Path.Combine(DeviceProvisioner.DefaultBundleDirectory(_dir.Data, "porch-sensor"), "device.json")));
        string[] brokers = [.. device.RootElement.GetProperty("brokers").EnumerateArray().Select(e => e.GetString()!)];
        Assert.Contains("mqtts://127.0.0.1:9883", brokers);
        Assert.DoesNotContain(brokers, b => b.EndsWith(":8883", StringComparison.Ordinal));
    }
}
