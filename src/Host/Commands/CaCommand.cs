using Alicia.Engine.Hosting;
using Alicia.Engine.Security.Identity;
using Alicia.Host.Configuration;

namespace Alicia.Host.Commands;

/// <summary><c>alicia ca init [--host NAME]... [--force]</c> and <c>alicia ca show</c>: the local certificate authority.</summary>
public static class CaCommand
{
    public static int Execute(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var tokens = args.ToList();
        string? sub = tokens.Count > 0 && !tokens[0].StartsWith('-') ? tokens[0] : null;
        if (sub is not ("init" or "show"))
        {
            stderr.WriteLine("alicia ca: say 'init [--host NAME]... [--force]' or 'show'");
            return Cli.Usage;
        }
        tokens.RemoveAt(0);
        var hosts = new List<string>();
        while (Cli.TakeOption(tokens, "--host") is { } host) hosts.Add(host);
        bool force = Cli.TakeFlag(tokens, "--force");
        AliciaEngineOptions options = ConfigurationLoader.Load(tokens);

        if (sub == "init")
        {
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
