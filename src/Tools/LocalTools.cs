using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security.Gateway;
using Alicia.Engine.Security.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Alicia.Tools;

/// <summary>
/// Identities for the engine's own command-line tools on the same machine: <c>alicia-cli</c> (ping,
/// devices, voice: the local operator) and <c>alicia-simulator</c> (simulated devices). Each gets a
/// random password in <c>{DataDirectory}/local/{name}.password</c> (mode 0600): whoever can read the
/// engine's data directory may use them, over loopback only, like any password identity.
/// </summary>
internal static class LocalTools
{
    public const string Cli = "alicia-cli";
    public const string Simulator = "alicia-simulator";

    /// <summary>The local tools' identities, with their passwords (created on first use).</summary>
    public static PasswordDirectory Directory(string dataDirectory)
    {
        var directory = new PasswordDirectory();
        directory.Add(new IdentityRecord(Cli, IdentityKind.Service, "admin"), EnsurePassword(dataDirectory, Cli));
        directory.Add(new IdentityRecord(Simulator, IdentityKind.Service, "simulator"), EnsurePassword(dataDirectory, Simulator));
        return directory;
    }

    public static string PasswordFile(string dataDirectory, string name) => Path.Combine(dataDirectory, "local", name + ".password");

    /// <summary>The tool's password, created on first use.</summary>
    public static string EnsurePassword(string dataDirectory, string name)
    {
        string file = PasswordFile(dataDirectory, name);
        if (File.Exists(file)) return File.ReadAllText(file).Trim();
        SecretFiles.EnsurePrivateDirectory(Path.GetDirectoryName(file)!);
        string password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
        try
        {
            SecretFiles.WriteSecret(file, password);
        }
        catch (IOException) when (File.Exists(file))
        {
            // Another process created it first: use theirs.
        }
        return File.ReadAllText(file).Trim();
    }

    /// <summary>The tool's password when this user can read it (the tools pass it to the broker).</summary>
    public static string? TryReadPassword(string dataDirectory, string name)
    {
        string file = PasswordFile(dataDirectory, name);
        try { return File.Exists(file) ? File.ReadAllText(file).Trim() : null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}

/// <summary><c>AddAlicia().AddLocalTools()</c>: the gateway lets the engine's own command-line tools in.</summary>
internal static class LocalToolsBuilderExtensions
{
    /// <summary>Registers <c>alicia-cli</c> and <c>alicia-simulator</c> (passwords in the data directory) as identities the gateway knows.</summary>
    public static IAliciaBuilder AddLocalTools(this IAliciaBuilder builder)
    {
        builder.Services.AddSingleton<IIdentityDirectory>(sp => LocalTools.Directory(sp.GetRequiredService<IOptions<AliciaEngineOptions>>().Value.DataDirectory));
        return builder;
    }
}
