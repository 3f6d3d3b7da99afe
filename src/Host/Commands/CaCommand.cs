using Alicia.Engine.Hosting;
using Alicia.Engine.Security.Identity;
using System.CommandLine;

namespace Alicia.Host.Commands;

/// <summary><c>alicia ca init [--host NAME]... [--force]</c> and <c>alicia ca show</c>: the local certificate authority.</summary>
public static class CaCommand
{
    /// <summary><c>alicia ca ARGS</c>, as from the command line (exit code; output to the writers).</summary>
    public static int Execute(string[] args, TextWriter stdout, TextWriter stderr) => Cli.Run(["ca", .. args], stdout, stderr);

    internal static Command Create(CliContext cli)
    {
        var hosts = new Option<string[]>("--host") { Description = "An extra name or address for the broker's certificate (repeat for more; this machine's name, localhost, 127.0.0.1 and ::1 are always in it)", HelpName = "NAME" };
        var force = new Option<bool>("--force") { Description = "Replace an existing CA (invalidates every certificate it issued)" };
        var init = cli.ReadsConfiguration(new Command("init", "Create the local certificate authority (ECDSA P-256) and the broker's certificate in <DataDirectory>/ca (keys 0600)") { hosts, force });
        init.SetAction(result => Init(cli, cli.Load(result), result.GetValue(hosts) ?? [], result.GetValue(force)));
        var show = cli.ReadsConfiguration(new Command("show", "Show the CA and the broker certificate: subjects, SHA-256, validity, names"));
        show.SetAction(result => Show(cli, cli.Load(result)));
        return new Command("ca", "The local certificate authority for TLS client certificates") { init, show };
    }

    private static int Init(CliContext cli, AliciaEngineOptions options, IReadOnlyList<string> hosts, bool force)
    {
        TextWriter stdout = cli.Out, stderr = cli.Err;
        if (CertificateAuthority.Exists(options.DataDirectory) && !force)
        {
            stderr.WriteLine($"alicia ca init: a certificate authority already exists in {CertificateAuthority.DirectoryFor(options.DataDirectory)}; " +
                "replacing it invalidates every issued certificate (use --force to do it anyway)");
            return Cli.Failed;
        }
        using CertificateAuthority ca = CertificateAuthority.Init(options.DataDirectory, hosts, force: force);
        using var server = ca.LoadServerCertificate();
        stdout.WriteLine($"created certificate authority '{ca.Certificate.Subject}' in {ca.Directory}");
        stdout.WriteLine($"  {ca.CertificatePath}  (give this to devices and clients: they trust the broker through it)");
        stdout.WriteLine($"  {ca.KeyPath}  (mode 0600: keep it secret)");
        stdout.WriteLine($"  {ca.ServerCertificatePath}, {ca.ServerKeyPath}  (the broker's certificate: {SubjectAltNames(server)})");
        stdout.WriteLine("next: alicia device provision <id> --type speaker|sensor|actuator|controller|service");
        return Cli.Ok;
    }

    private static int Show(CliContext cli, AliciaEngineOptions options)
    {
        TextWriter stdout = cli.Out, stderr = cli.Err;

        if (!CertificateAuthority.Exists(options.DataDirectory))
        {
            stderr.WriteLine($"alicia ca show: no certificate authority in {CertificateAuthority.DirectoryFor(options.DataDirectory)} (create one with: alicia ca init)");
            return Cli.Failed;
        }
        using (CertificateAuthority ca = CertificateAuthority.Load(options.DataDirectory))
        using (var server = ca.LoadServerCertificate())
        {
            stdout.WriteLine($"ca:     {ca.Certificate.Subject}");
            stdout.WriteLine($"        sha256 {CertificateAuthority.ThumbprintOf(ca.Certificate)}, valid until {ca.Certificate.NotAfter.ToUniversalTime():u}");
            stdout.WriteLine($"server: {server.Subject}, valid until {server.NotAfter.ToUniversalTime():u}");
            stdout.WriteLine($"        {SubjectAltNames(server)}");
        }
        return Cli.Ok;
    }

    private static string SubjectAltNames(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate)
    {
        var san = certificate.Extensions.OfType<System.Security.Cryptography.X509Certificates.X509SubjectAlternativeNameExtension>().FirstOrDefault();
        if (san is null) return "no subject alternative names";
        return "SAN " + string.Join(", ", san.EnumerateDnsNames().Concat(san.EnumerateIPAddresses().Select(a => a.ToString())));
    }
}
