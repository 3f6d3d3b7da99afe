using Alicia.Tools.Mosquitto;
using System.CommandLine;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security.Identity;

namespace Alicia.Host.Commands;

/// <summary>
/// <c>alicia broker config mosquitto [--out DIR] [--port 8883] [--plain-port 1883] [--no-anonymous] [--user NAME]</c>:
/// writes a Mosquitto 2 configuration (TLS 1.3 with our CA, client certificates required, CN as
/// username, an ACL file from the same policy as the embedded broker, a CRL) for use as an external broker.
/// </summary>
public static class BrokerCommand
{
    /// <summary><c>alicia broker ARGS</c>, as from the command line (exit code; output to the writers).</summary>
    public static int Execute(string[] args, TextWriter stdout, TextWriter stderr) => Cli.Run(["broker", .. args], stdout, stderr);

    internal static Command Create(CliContext cli)
    {
        var outDir = new Option<string>("--out") { Description = "Where the files go (default <DataDirectory>/mosquitto)", HelpName = "DIR" };
        var tlsPort = new Option<int?>("--port") { Description = "Mosquitto's TLS 1.3 listener port (default 8883)", HelpName = "N", CustomParser = CommonOptions.PortNumber("--port", allowZero: false) };
        var plainPort = new Option<int?>("--plain-port") { Description = "The plain listener for anonymous read-only clients (default 1883; 0: none)", HelpName = "N", CustomParser = CommonOptions.PortNumber("--plain-port") };
        var plainAddress = new Option<string>("--plain-listen") { Description = "The plain listener's address (default 127.0.0.1)", HelpName = "ADDRESS", DefaultValueFactory = _ => "127.0.0.1" };
        var tlsAddress = new Option<string>("--tls-listen") { Description = "The TLS listener's address (default: every address)", HelpName = "ADDRESS" };
        var noAnonymous = new Option<bool>("--no-anonymous") { Description = "Refuse anonymous readers on the plain listener" };
        var user = new Option<string>("--user") { Description = "The user Mosquitto runs as (it must read the key file)", HelpName = "NAME" };
        var mosquitto = cli.ReadsConfiguration(new Command("mosquitto", """
            Write a Mosquitto 2 configuration for use as Alicia's external broker: a TLS 1.3 listener with our CA,
            client certificates required and their CN as user name, an ACL file from the same policy as the embedded
            broker, a CRL, and a loopback plain listener for anonymous readers. Regenerate and reload Mosquitto after
            each provision, renewal or revocation.
            """) { outDir, tlsPort, plainPort, plainAddress, tlsAddress, noAnonymous, user });
        mosquitto.SetAction(result => Execute(cli, cli.Load(result), result.GetValue(outDir), result.GetValue(tlsPort) ?? 8883, result.GetValue(plainPort) ?? 1883,
            result.GetValue(plainAddress)!, result.GetValue(tlsAddress), result.GetValue(noAnonymous), result.GetValue(user)));
        return new Command("broker", "Configuration for an external broker") { new Command("config", "Write a broker's configuration") { mosquitto } };
    }

    private static int Execute(CliContext cli, AliciaEngineOptions options, string? outDir, int tlsPort, int plainPort, string plainAddress, string? tlsAddress, bool noAnonymous, string? user)
    {
        TextWriter stdout = cli.Out, stderr = cli.Err;
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
}
