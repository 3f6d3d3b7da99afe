using System.Security.Cryptography.X509Certificates;
using System.Text;
using Alicia.Engine.Security;
using Alicia.Engine.Security.Gateway;
using Alicia.Engine.Security.Identity;
using Microsoft.Extensions.Time.Testing;

namespace Alicia.Security.Tests;

public sealed class IdentityStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new("alicia-sec");
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly CertificateAuthority _ca;
    private readonly IdentityStore _store;

    public IdentityStoreTests()
    {
        _ca = CertificateAuthority.Init(_dir.Data, clock: _clock);
        _store = IdentityStore.Open(_dir.Data, _clock);
    }

    public void Dispose()
    {
        _store.Dispose();
        _ca.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void The_identity_database_and_its_wal_files_are_owner_only_even_when_an_older_version_left_them_wider()
    {
        if (OperatingSystem.IsWindows()) return; // Unix file modes
        using (Add("mode-sensor", password: "pw-mode-sensor")) { }
        string db = IdentityStore.PathFor(_dir.Data);
        string[] files = [.. new[] { db, db + "-wal", db + "-shm" }.Where(File.Exists)];
        Assert.Contains(db + "-wal", files);
        foreach (string file in files) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, UnixModes.Of(file));

        // As a version before issue 10 left them: readable by everyone. Opening the store narrows them again.
        foreach (string file in files) File.SetUnixFileMode(file, (UnixFileMode)Convert.ToInt32("644", 8));
        using IdentityStore reopened = IdentityStore.Open(_dir.Data, _clock);
        foreach (string file in files.Where(File.Exists)) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, UnixModes.Of(file));
    }

    private X509Certificate2 Add(string id, IdentityKind kind = IdentityKind.Sensor, string? password = null, params string[] roles)
    {
        X509Certificate2 cert = _ca.IssueClientCertificate(id, kind);
        using var key = SigningIdentity.Create(id);
        _store.Add(id, kind, roles, cert, key.PublicKeyBase64, password is null ? null : PasswordHasher.Hash(password));
        return cert;
    }

    [Fact]
    public void A_provisioned_certificate_authenticates_as_its_identity()
    {
        using X509Certificate2 cert = Add("stt-1", IdentityKind.Service, null, "stt");
        Assert.True(_store.TryAuthenticate(cert, out IdentityRecord identity, out string reason), reason);
        Assert.Equal("stt-1", identity.Id);
        Assert.Equal(IdentityKind.Service, identity.Kind);
        Assert.Equal(["stt"], identity.Roles);
        Assert.True(_store.TryGet("stt-1", out _));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, UnixModes.Of(_store.DatabasePath));
        // The certificate carries the identity's grants through AclPolicy.
        Assert.True(AclPolicy.AuthorizePublish(identity, "alicia/voice/stt/response").Allowed);
    }

    [Fact]
    public void An_unknown_certificate_is_refused_with_a_reason_even_from_our_ca()
    {
        using X509Certificate2 known = Add("kitchen-sensor");
        using X509Certificate2 unrecorded = _ca.IssueClientCertificate("kitchen-sensor", IdentityKind.Sensor);
        Assert.False(_store.TryAuthenticate(unrecorded, out _, out string reason));
        Assert.Contains("unknown certificate", reason);
        Assert.Contains("kitchen-sensor", reason);
        using X509Certificate2 stranger = _ca.IssueClientCertificate("stranger", IdentityKind.Sensor);
        Assert.False(_store.TryAuthenticate(stranger, out _, out reason));
        Assert.Contains("no such identity", reason);
    }

    [Fact]
    public void A_revoked_identity_is_refused_and_Changed_fires()
    {
        using X509Certificate2 cert = Add("porch-speaker", IdentityKind.Speaker);
        var changed = new List<string>();
        _store.Changed += changed.Add;
        Assert.True(_store.Revoke("porch-speaker", "stolen"));
        Assert.Equal(["porch-speaker"], changed);
        Assert.False(_store.TryAuthenticate(cert, out _, out string reason));
        Assert.Contains("revoked", reason);
        Assert.Contains("stolen", reason);
        Assert.False(_store.TryGet("porch-speaker", out _));
        Assert.Equal(IdentityStatus.Revoked, _store.Find("porch-speaker")!.Status);
        Assert.False(_store.Revoke("porch-speaker"));
    }

    [Fact]
    public void An_expired_certificate_is_refused_and_its_expiry_raises_Changed()
    {
        X509Certificate2 cert = _ca.IssueClientCertificate("brief", IdentityKind.Sensor, TimeSpan.FromHours(1));
        using var key = SigningIdentity.Create("brief");
        _store.Add("brief", IdentityKind.Sensor, [], cert, key.PublicKeyBase64);
        Assert.True(_store.TryAuthenticate(cert, out _, out _));
        var changed = new List<string>();
        _store.Changed += changed.Add;
        _clock.Advance(TimeSpan.FromHours(2));
        Assert.False(_store.TryAuthenticate(cert, out _, out string reason));
        Assert.Contains("expired", reason);
        _store.Poll();
        Assert.Equal(["brief"], changed);
        _store.Poll();
        Assert.Single(changed); // a deadline is reported once
    }

    [Fact]
    public void Renewal_keeps_the_old_certificate_valid_until_the_overlap_deadline_then_refuses_it()
    {
        using X509Certificate2 old = Add("hall-sensor");
        string oldKey = _store.Find("hall-sensor")!.PublicKey;
        using X509Certificate2 renewed = _ca.IssueClientCertificate("hall-sensor", IdentityKind.Sensor);
        using var newKey = SigningIdentity.Create("hall-sensor");
        var changed = new List<string>();
        _store.Changed += changed.Add;

        IdentityEntry entry = _store.Renew("hall-sensor", renewed, newKey.PublicKeyBase64, TimeSpan.FromHours(24));
        Assert.Equal(["hall-sensor"], changed);
        Assert.Equal(newKey.PublicKeyBase64, entry.PublicKey);
        Assert.Equal(oldKey, entry.PreviousPublicKey);
        Assert.Equal(2, IdentityTrustSync.SigningKeys(entry, _clock.GetUtcNow()).Count);

        Assert.True(_store.TryAuthenticate(old, out _, out string reason), reason);
        Assert.True(_store.TryAuthenticate(renewed, out _, out reason), reason);

        _clock.Advance(TimeSpan.FromHours(25));
        Assert.False(_store.TryAuthenticate(old, out _, out reason));
        Assert.Contains("superseded", reason);
        Assert.True(_store.TryAuthenticate(renewed, out _, out reason), reason);
        Assert.Single(IdentityTrustSync.SigningKeys(_store.Find("hall-sensor")!, _clock.GetUtcNow()));
        _store.Poll(); // the overlap's end is a change: live connections on the old certificate get re-checked
        Assert.Equal(["hall-sensor", "hall-sensor"], changed);

        // A second renewal retires the first certificate for good, whatever the overlap.
        using X509Certificate2 third = _ca.IssueClientCertificate("hall-sensor", IdentityKind.Sensor);
        _store.Renew("hall-sensor", third, SigningIdentity.Create("hall-sensor").PublicKeyBase64, TimeSpan.FromDays(7));
        Assert.False(_store.TryAuthenticate(old, out _, out _));
        Assert.True(_store.TryAuthenticate(renewed, out _, out _));
        Assert.True(_store.TryAuthenticate(third, out _, out _));
    }

    [Fact]
    public void Password_authentication_uses_a_salted_pbkdf2_hash()
    {
        using X509Certificate2 cert = Add("ha-bridge", IdentityKind.Service, "correct horse", "ha");
        Assert.True(_store.TryAuthenticate("ha-bridge", "correct horse"u8, out IdentityRecord identity, out string reason), reason);
        Assert.Equal("ha-bridge", identity.Id);
        Assert.False(_store.TryAuthenticate("ha-bridge", "wrong"u8, out _, out reason));
        Assert.Contains("wrong password", reason);
        Assert.False(_store.TryAuthenticate("nobody", "correct horse"u8, out _, out reason));
        Assert.Contains("unknown", reason);

        string h1 = PasswordHasher.Hash("same"), h2 = PasswordHasher.Hash("same");
        Assert.NotEqual(h1, h2); // salted
        Assert.StartsWith("pbkdf2-sha256$", h1);
        Assert.True(PasswordHasher.Verify(Encoding.UTF8.GetBytes("same"), h1));

        using X509Certificate2 sensor = Add("no-password");
        Assert.False(_store.TryAuthenticate("no-password", ""u8, out _, out reason));
        Assert.Contains("no password", reason);

        _store.Revoke("ha-bridge");
        Assert.False(_store.TryAuthenticate("ha-bridge", "correct horse"u8, out _, out reason));
        Assert.Contains("revoked", reason);
    }

    [Fact]
    public async Task A_revocation_by_another_process_reaches_a_watching_store()
    {
        using X509Certificate2 cert = Add("garage-actuator", IdentityKind.Actuator);
        using IdentityStore engineSide = IdentityStore.Open(_dir.Data); // the running engine's store (real clock)
        Assert.True(engineSide.TryAuthenticate(cert, out _, out _));
        var revoked = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        engineSide.Changed += id => revoked.TrySetResult(id);
        engineSide.StartWatching(TimeSpan.FromMilliseconds(50));

        _store.Revoke("garage-actuator"); // "the CLI"
        Assert.Equal("garage-actuator", await revoked.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(engineSide.TryAuthenticate(cert, out _, out string reason));
        Assert.Contains("revoked", reason);
    }

    [Fact]
    public void Trust_sync_drops_a_revoked_key_and_trusts_a_renewed_one()
    {
        using X509Certificate2 cert = Add("den-speaker", IdentityKind.Speaker);
        var trust = new TrustStore();
        trust.Trust("den-speaker", KeyDirectory.ParsePublicKey(_store.Find("den-speaker")!.PublicKey));
        using var sync = new IdentityTrustSync(_store, trust);

        using X509Certificate2 renewed = _ca.IssueClientCertificate("den-speaker", IdentityKind.Speaker);
        using var newKey = SigningIdentity.Create("den-speaker");
        _store.Renew("den-speaker", renewed, newKey.PublicKeyBase64, TimeSpan.FromHours(1));
        Assert.True(trust.TryGet("den-speaker", out NSec.Cryptography.PublicKey key));
        Assert.True(key.Equals(newKey.PublicKey));

        _store.Revoke("den-speaker");
        Assert.False(trust.TryGet("den-speaker", out _));
    }

    [Fact]
    public void A_store_reopened_from_disk_has_everything()
    {
        using X509Certificate2 cert = Add("persisted", IdentityKind.Controller);
        using IdentityStore reopened = IdentityStore.Open(_dir.Data, _clock);
        Assert.True(reopened.TryAuthenticate(cert, out IdentityRecord identity, out _));
        Assert.Equal(IdentityKind.Controller, identity.Kind);
        Assert.Equal(CertificateAuthority.SerialOf(cert), reopened.Find("persisted")!.CurrentCertificate!.Serial);
    }
}
