using Alicia.Tools.Mosquitto;
using System.Globalization;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security.Identity;
using Alicia.Host.Configuration;

namespace Alicia.Host.Commands;

/// <summary>
/// <c>alicia broker config mosquitto [--out DIR] [--port 8883] [--plain-port 1883] [--no-anonymous] [--user NAME]</c>:
/// writes a Mosquitto 2 configuration (TLS 1.3 with our CA, client certificates required, CN as
/// username, an ACL file from the same policy as the embedded broker, a CRL) for use as an external broker.
/// </summary>
public static class BrokerCommand
{
    public static int Execute(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var tokens = args.ToList();
        if (tokens.Count < 2 || tokens[0] != "config" || tokens[1] != "mosquitto")
        {
            stderr.WriteLine("alicia broker: say 'config mosquitto [--out DIR] [--port 8883] [--plain-port 1883] [--plain-listen 127.0.0.1] [--no-anonymous] [--user NAME]'");
            return Cli.Usage;
        }
        tokens.RemoveRange(0, 2);
        string? outDir = Cli.TakeOption(tokens, "--out");
        int tlsPort = Port(Cli.TakeOption(tokens, "--port") ?? "8883", "--port", allowZero: false);
        int plainPort = Port(Cli.TakeOption(tokens, "--plain-port") ?? "1883", "--plain-port", allowZero: true);
        string plainAddress = Cli.TakeOption(tokens, "--plain-listen") ?? "127.0.0.1";
        string? tlsAddress = Cli.TakeOption(tokens, "--tls-listen");
        bool noAnonymous = Cli.TakeFlag(tokens, "--no-anonymous");
        string? user = Cli.TakeOption(tokens, "--user");
        AliciaEngineOptions options = ConfigurationLoader.Load(tokens);

        if (!CertificateAuthority.Exists(options.DataDirectory))
        {
            stderr.WriteLine($"alicia broker config: no certificate authority in {CertificateAuthority.DirectoryFor(options.DataDirectory)} (create one with: alicia ca init)");
            return Cli.Failed;
        }
        outDir ??= Path.Combine(options.DataDirectory, "mosquitto");
        using CertificateAuthority ca = CertificateAuthority.Load(options.DataDirectory);
        using IdentityStore store = IdentityStore.Open(options.DataDirectory);
        MosquittoConfigFiles files = MosquittoConfig.Write(outDir, ca, store, new MosquittoConfigOptions
        {
            TlsPort = tlsPort,
            TlsAddress = tlsAddress,
            PlainPort = plainPort,
            PlainAddress = plainAddress,
            AnonymousRead = !noAnonymous,
            User = user,
        });
        int identities = store.ActiveRecords().Count;
        stdout.WriteLine($"wrote {files.Config}");
        stdout.WriteLine($"  ACL for {identities} active identit{(identities == 1 ? "y" : "ies")}: {files.Acl}");
        if (files.PlainAcl is not null) stdout.WriteLine($"  plain listener {plainAddress}:{plainPort} ({(noAnonymous ? "anonymous refused" : "anonymous read-only")}): {files.PlainAcl}");
        stdout.WriteLine($"  TLS 1.3 listener on port {tlsPort}: {files.CaFile}, {files.CertFile}, {files.KeyFile} (0600), CRL {files.CrlFile}");
        if (user is null && Environment.UserName == "root")
            stdout.WriteLine($"note: Mosquitto started as root drops to user 'mosquitto', which cannot read {files.KeyFile} (0600): chown -R mosquitto: {files.Directory}, or pass --user root");
        stdout.WriteLine($"run: mosquitto -c {files.Config}   (regenerate and send SIGHUP after provisioning, renewing or revoking)");
        return Cli.Ok;
    }

    private static int Port(string text, string option, bool allowZero)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535 || (!allowZero && port == 0))
            throw new ConfigurationError($"{option}: '{text}' is not a TCP port ({(allowZero ? 0 : 1)}-65535)");
        return port;
    }
}
