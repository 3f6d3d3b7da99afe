using Alicia.Engine.Security.Audit;
using System.Globalization;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security;
using Alicia.Engine.Security.Gateway;
using Alicia.Engine.Security.Identity;
using Alicia.Host.Configuration;

namespace Alicia.Host.Commands;

/// <summary>
/// <c>alicia device provision|revoke|renew|list</c>: device and service identities (certificate from the
/// local CA, Ed25519 signing key, trust, bundle). Changes go to the identity store in the data directory; a
/// running engine picks them up within its poll interval (about a second): a revoked identity's live
/// connections are dropped and its next connection is refused.
/// </summary>
public static class DeviceIdentityCommand
{
    public const string UsageText = """
        alicia device provision <id> --type speaker|sensor|actuator|controller|service [--role R]... [--password-from-env VAR]
                                     [--out DIR] [--validity 365d] [--broker-url mqtts://host:8883]...
        alicia device revoke <id> [--reason TEXT]
        alicia device renew <id> [--overlap 24h] [--out DIR] [--validity 365d]
        alicia device list
        """;

    public static int Execute(string[] args, TextWriter stdout, TextWriter stderr) =>
        Execute(args, stdout, stderr, Environment.GetEnvironmentVariable);

    public static int Execute(string[] args, TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
    {
        var tokens = args.ToList();
        string? sub = tokens.Count > 0 && !tokens[0].StartsWith('-') ? tokens[0] : null;
        if (sub is not ("provision" or "revoke" or "renew" or "list"))
        {
            stderr.WriteLine("alicia device: say one of\n" + UsageText);
            return Cli.Usage;
        }
        tokens.RemoveAt(0);
        string? id = null;
        if (sub != "list")
        {
            if (tokens.Count == 0 || tokens[0].StartsWith('-'))
            {
                stderr.WriteLine($"alicia device {sub}: an identity id is required, e.g. 'alicia device {sub} kitchen-sensor'");
                return Cli.Usage;
            }
            id = tokens[0];
            tokens.RemoveAt(0);
            if (!IdentityNames.IsValid(id))
            {
                stderr.WriteLine($"alicia device {sub}: '{id}' is not a valid id (1-{IdentityNames.MaxLength} of a-z A-Z 0-9 - _ .)");
                return Cli.Usage;
            }
        }

        string? typeText = Cli.TakeOption(tokens, "--type");
        var roles = new List<string>();
        while (Cli.TakeOption(tokens, "--role") is { } role) roles.AddRange(role.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        string? passwordVariable = Cli.TakeOption(tokens, "--password-from-env");
        string? outDir = Cli.TakeOption(tokens, "--out");
        string? validityText = Cli.TakeOption(tokens, "--validity");
        string? overlapText = Cli.TakeOption(tokens, "--overlap");
        string? reason = Cli.TakeOption(tokens, "--reason");
        var brokerUrls = new List<string>();
        while (Cli.TakeOption(tokens, "--broker-url") is { } url) brokerUrls.Add(url);
        AliciaEngineOptions options = ConfigurationLoader.Load(tokens);
        TimeSpan? validity = validityText is null ? null : ParseDuration(validityText, "--validity");

        if (sub != "list" && !CertificateAuthority.Exists(options.DataDirectory))
        {
            stderr.WriteLine($"alicia device {sub}: no certificate authority in {CertificateAuthority.DirectoryFor(options.DataDirectory)} (create one with: alicia ca init)");
            return Cli.Failed;
        }
        using IdentityStore store = IdentityStore.Open(options.DataDirectory);
        if (sub == "list") return List(store, stdout);

        using CertificateAuthority ca = CertificateAuthority.Load(options.DataDirectory);
        var provisioner = new DeviceProvisioner(ca, store, new KeyDirectory(options.KeyDirectory), options.DataDirectory);
        if (brokerUrls.Count == 0) brokerUrls.AddRange(DefaultBrokerUrls(options));
        foreach (string url in brokerUrls)
        {
            try { Alicia.Engine.Bus.BrokerEndpoint.Parse(url); }
            catch (FormatException e) { throw new ConfigurationError($"--broker-url: {e.Message}"); }
        }

        switch (sub)
        {
            case "provision":
            {
                if (typeText is null || !IdentityRecord.TryParseKind(typeText, out IdentityKind kind))
                {
                    stderr.WriteLine($"alicia device provision: --type is required: speaker, sensor, actuator, controller or service{(typeText is null ? "" : $" (not '{typeText}')")}");
                    return Cli.Usage;
                }
                string? password = null;
                if (passwordVariable is not null)
                {
                    password = environment(passwordVariable);
                    if (string.IsNullOrEmpty(password))
                    {
                        stderr.WriteLine($"alicia device provision: --password-from-env {passwordVariable}: the variable is not set or empty");
                        return Cli.Usage;
                    }
                }
                ProvisionResult result;
                try
                {
                    result = provisioner.Provision(new ProvisionRequest(id!, kind)
                    {
                        Roles = roles, Password = password, Validity = validity, BundleDirectory = outDir, BrokerUrls = brokerUrls,
                    });
                }
                catch (ArgumentException e)
                {
                    stderr.WriteLine($"alicia device provision: {e.Message}");
                    return Cli.Usage;
                }
                catch (InvalidOperationException e)
                {
                    stderr.WriteLine($"alicia device provision: {e.Message}");
                    return Cli.Failed;
                }
                Audit(options, AuditKinds.Provisioned, id!, $"{IdentityRecord.KindName(kind)}, certificate {result.CertificateSerial}{(roles.Count > 0 ? ", roles " + string.Join(",", roles) : "")}");
                stdout.WriteLine($"provisioned {IdentityRecord.KindName(kind)} '{id}'{(roles.Count > 0 ? " with roles " + string.Join(", ", roles) : "")}{(password is null ? "" : " (password set)")}");
                PrintResult(result, stdout);
                return Cli.Ok;
            }
            case "renew":
            {
                TimeSpan overlap = overlapText is null ? TimeSpan.FromHours(24) : ParseDuration(overlapText, "--overlap", allowZero: true);
                ProvisionResult result;
                try
                {
                    result = provisioner.Renew(id!, overlap, outDir, brokerUrls.Count > 0 ? brokerUrls : null, validity);
                }
                catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException)
                {
                    stderr.WriteLine($"alicia device renew: {e.Message}");
                    return Cli.Failed;
                }
                CertificateEntry? previous = result.Identity.Certificates.LastOrDefault(c => c.State == CertificateState.Previous);
                Audit(options, AuditKinds.Renewed, id!, $"certificate {result.CertificateSerial}; previous valid until {previous?.ValidUntil:u}");
                stdout.WriteLine($"renewed '{id}': the previous certificate{(result.SigningKeyInBundle ? " and signing key stay" : " stays")} valid until {previous?.ValidUntil:u}");
                PrintResult(result, stdout);
                return Cli.Ok;
            }
            default: // revoke
                if (!provisioner.Revoke(id!, reason))
                {
                    IdentityEntry? entry = store.Find(id!);
                    stderr.WriteLine(entry is null ? $"alicia device revoke: no identity '{id}'" : $"alicia device revoke: '{id}' is already revoked");
                    return Cli.Failed;
                }
                Audit(options, AuditKinds.Revoked, id!, reason ?? "revoked from the command line");
                stdout.WriteLine($"revoked '{id}': its certificates are refused and its signing key is no longer trusted; a running engine drops its connections within a second");
                stdout.WriteLine("with an external Mosquitto: run 'alicia broker config mosquitto' again and reload Mosquitto");
                return Cli.Ok;
        }
    }

    /// <summary>Provisioning decisions go to the same hash-chained audit log the engine writes.</summary>
    private static void Audit(Alicia.Engine.Hosting.AliciaEngineOptions options, string kind, string id, string detail) =>
        AuditLog.AppendNow(AuditCommand.PathFor(options), kind, id, "", kind.Split('.')[^1], detail);

    private static void PrintResult(ProvisionResult result, TextWriter stdout)
    {
        stdout.WriteLine($"  certificate serial {result.CertificateSerial}, valid until {result.NotAfter:u}");
        stdout.WriteLine($"  bundle for the device: {result.BundleDirectory}");
        stdout.WriteLine($"    ca.pem, cert.pem, key.pem (0600), {(result.SigningKeyInBundle ? $"{result.Identity.Id}.key (0600, Ed25519 signing key), " : "")}{result.Identity.Id}.pub, device.json");
        if (!result.SigningKeyInBundle) stdout.WriteLine($"    signs with its existing key pair in the key directory");
    }

    private static int List(IdentityStore store, TextWriter stdout)
    {
        stdout.WriteLine("id\ttype\troles\tstatus\tcertificate\tnot_after");
        foreach (IdentityEntry e in store.List())
        {
            CertificateEntry? current = e.CurrentCertificate;
            string status = e.Status == IdentityStatus.Revoked ? "revoked" : "active";
            CertificateEntry? previous = e.Certificates.LastOrDefault(c => c.State == CertificateState.Previous);
            if (e.Status == IdentityStatus.Active && previous?.ValidUntil is { } until && until > DateTimeOffset.UtcNow)
                status += $" (renewing: previous valid until {until:u})";
            stdout.WriteLine(string.Join('\t', e.Id, IdentityRecord.KindName(e.Kind), e.Roles.Count == 0 ? "-" : string.Join(',', e.Roles), status,
                current?.Serial ?? "-", current is null ? "-" : current.NotAfter.ToString("u", CultureInfo.InvariantCulture)));
        }
        return Cli.Ok;
    }

    private static IEnumerable<string> DefaultBrokerUrls(AliciaEngineOptions options)
    {
        int port = options.Broker.TlsPort > 0 ? options.Broker.TlsPort : 8883;
        string host = System.Net.Dns.GetHostName();
        if (!string.IsNullOrWhiteSpace(host) && host != "localhost") yield return $"mqtts://{host}:{port}";
        yield return $"mqtts://127.0.0.1:{port}";
    }

    /// <summary>Parses <c>90s</c>, <c>30m</c>, <c>24h</c>, <c>7d</c> or a TimeSpan (<c>1.00:00:00</c>).</summary>
    public static TimeSpan ParseDuration(string text, string option, bool allowZero = false)
    {
        TimeSpan value;
        string t = text.Trim();
        if (t.Length >= 2 && char.IsAsciiLetter(t[^1]) && double.TryParse(t[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out double n))
        {
            value = char.ToLowerInvariant(t[^1]) switch
            {
                's' => TimeSpan.FromSeconds(n),
                'm' => TimeSpan.FromMinutes(n),
                'h' => TimeSpan.FromHours(n),
                'd' => TimeSpan.FromDays(n),
                _ => throw new ConfigurationError($"{option}: '{text}' has an unknown unit (use s, m, h or d, e.g. 24h)"),
            };
        }
        else if (!TimeSpan.TryParse(t, CultureInfo.InvariantCulture, out value))
        {
            throw new ConfigurationError($"{option}: '{text}' is not a duration (e.g. 24h, 30m, 7d or 1.00:00:00)");
        }
        if (value < TimeSpan.Zero || (!allowZero && value == TimeSpan.Zero)) throw new ConfigurationError($"{option}: '{text}' must be {(allowZero ? "zero or more" : "positive")}");
        return value;
    }
}
