using Alicia.Engine.Security;

namespace Alicia.Engine.Tests.Security;

public sealed class KeyDirectoryTests : IDisposable
{
    private readonly TempDirectory _temp = new("alicia-keys");

    private string KeysPath => _temp.Keys; // not created yet: the key directory makes it

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void New_key_is_private_to_its_owner_and_loads_back()
    {
        var keys = new KeyDirectory(KeysPath);
        using SigningIdentity created = keys.Create("kitchen-speaker");

        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keys.PrivateKeyPath("kitchen-speaker")));
        using SigningIdentity loaded = keys.Load("kitchen-speaker");
        Assert.Equal(created.PublicKeyBase64, loaded.PublicKeyBase64);
        Assert.True(keys.TryReadPublicKey("kitchen-speaker", out var pub));
        Assert.True(pub!.Equals(created.PublicKey));
    }

    [Fact]
    public void Existing_key_is_never_overwritten()
    {
        var keys = new KeyDirectory(KeysPath);
        keys.Create("a").Dispose();
        var e = Assert.Throws<InvalidOperationException>(() => keys.Create("a"));
        Assert.Contains("already exists", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("../etc/passwd")]
    [InlineData("a/b")]
    [InlineData("sensor+")]
    [InlineData("sensor#")]
    [InlineData("broadcast")]
    [InlineData("..")]
    public void Names_that_could_escape_the_directory_or_a_topic_are_refused(string name)
    {
        var keys = new KeyDirectory(KeysPath);
        Assert.Throws<ArgumentException>(() => keys.Create(name));
        Assert.False(keys.TryReadPublicKey(name, out _));
    }

    [Fact]
    public void Missing_key_says_how_to_create_it()
    {
        var e = Assert.Throws<FileNotFoundException>(() => new KeyDirectory(KeysPath).Load("nobody"));
        Assert.Contains("alicia keys new nobody", e.Message);
    }

    [Fact]
    public void Corrupt_public_key_is_a_clear_error()
    {
        var keys = new KeyDirectory(KeysPath);
        Directory.CreateDirectory(KeysPath);
        File.WriteAllText(keys.PublicKeyPath("broken"), "not base64!");
        var e = Assert.Throws<FormatException>(() => keys.TryReadPublicKey("broken", out _));
        Assert.Contains(keys.PublicKeyPath("broken"), e.Message);
    }

    [Fact]
    public void Trust_store_picks_up_keys_added_while_running()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var keys = new KeyDirectory(KeysPath);
        var trust = new TrustStore(keys, clock);
        Assert.False(trust.TryGet("late", out _));
        using SigningIdentity late = keys.Create("late");

        // A miss is remembered for a few seconds so a flood of unknown sources costs no disk reads.
        Assert.False(trust.TryGet("late", out _));
        clock.Advance(TimeSpan.FromSeconds(6));
        Assert.True(trust.TryGet("late", out var key));
        Assert.True(key.Equals(late.PublicKey));
        Assert.True(trust.Revoke("late"));
    }
}
