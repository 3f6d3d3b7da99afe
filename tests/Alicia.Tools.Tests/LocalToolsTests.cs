using System.Text;
using Alicia.Engine.Security.Gateway;

namespace Alicia.Tools.Tests;

public sealed class LocalToolsTests : IDisposable
{
    private readonly TempDirectory _dir = new("alicia-local-tools");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Each_tool_gets_one_private_password_that_the_gateway_directory_accepts()
    {
        string first = LocalTools.EnsurePassword(_dir.Path, LocalTools.Cli);
        string again = LocalTools.EnsurePassword(_dir.Path, LocalTools.Cli);
        Assert.Equal(first, again);
        Assert.True(first.Length >= 32);
        Assert.Equal(first, LocalTools.TryReadPassword(_dir.Path, LocalTools.Cli));

        string file = LocalTools.PasswordFile(_dir.Path, LocalTools.Cli);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file) & (UnixFileMode)0x1FF);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(file)!) & (UnixFileMode)0x1FF);
        }

        PasswordDirectory directory = LocalTools.Directory(_dir.Path);
        Assert.True(directory.TryAuthenticate(LocalTools.Cli, Encoding.UTF8.GetBytes(first), out IdentityRecord cli, out _));
        Assert.Contains("admin", cli.Roles);
        Assert.False(directory.TryAuthenticate(LocalTools.Cli, "wrong"u8, out _, out _));
        string simulator = LocalTools.TryReadPassword(_dir.Path, LocalTools.Simulator)!;
        Assert.NotEqual(first, simulator);
        Assert.True(directory.TryAuthenticate(LocalTools.Simulator, Encoding.UTF8.GetBytes(simulator), out IdentityRecord sim, out _));
        Assert.Contains("simulator", sim.Roles);
    }

    [Fact]
    public void Without_a_password_file_nothing_is_read()
    {
        Assert.Null(LocalTools.TryReadPassword(_dir.Path, LocalTools.Cli));
    }
}
