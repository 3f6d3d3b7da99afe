using Alicia.Engine.Security.Audit;
using System.Globalization;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security;
using Alicia.Engine.Security.Gateway;
using Alicia.Engine.Security.Identity;
using System.CommandLine;
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
    /// <summary><c>alicia device ARGS</c>, as from the command line (exit code; output to the writers).</summary>
    public static int Execute(string[] args, TextWriter stdout, TextWriter stderr) => Cli.Run(["device", .. args], stdout, stderr);

    /// <summary>The same, with <paramref name="environment"/> for <c>--password-from-env</c>.</summary>
    public static int Execute(string[] args, TextWriter stdout, TextWriter stderr, Func<string, string?> environment) =>
        Cli.Run(["device", .. args], stdout, stderr, environment);

    private sealed record Request(string Sub, string Id)
    {
        public IdentityKind Kind { get; init; }
        public List<string> Roles { get; init; } = [];
        public string? PasswordVariable { get; init; }
        public string? OutDir { get; init; }
        public TimeSpan? Validity { get; init; }
        public TimeSpan Overlap { get; init; } = TimeSpan.FromHours(24);
        public string? Reason { get; init; }
        public List<string> BrokerUrls { get; init; } = [];
    }

    internal static Command Create(CliContext cli)
    {
        var id = CommonOptions.IdentityArgument("id", "The device's or service's identity: its MQTT client id, certificate CN and signing key name", "id");
        var type = new Option<IdentityKind>("--type")
        {
            Description = "What it is: speaker, sensor, actuator, controller or service", HelpName = "TYPE", Required = true,
            CustomParser = r =>
            {
                string text = r.Tokens[0].Value;
                if (IdentityRecord.TryParseKind(text, out IdentityKind kind)) return kind;
                r.AddError($"--type: '{text}' is not speaker, sensor, actuator, controller or service");
                return default;
            },
        };
        var roles = new Option<string[]>("--role") { Description = "A service's role (stt, tts, ai, ...); repeat or separate with commas", HelpName = "ROLE" };
        var password = new Option<string>("--password-from-env") { Description = "Also let it log in with the password in this environment variable (services on loopback)", HelpName = "VAR" };
        var outDir = new Option<string>("--out") { Description = "Where the bundle goes (default <DataDirectory>/devices/<id>)", HelpName = "DIR" };
        var validity = Duration("--validity", "How long the certificate is valid (default 365d)", allowZero: false);
        var overlap = Duration("--overlap", "How long the previous certificate and signing key keep working (default 24h)", allowZero: true);
        var reason = new Option<string>("--reason") { Description = "Why (recorded in the audit log)", HelpName = "TEXT" };
        var brokerUrls = new Option<string[]>("--broker-url") { Description = "A broker URL for the bundle's device.json (repeat for more; default mqtts://<this host>:8883 and mqtts://127.0.0.1:8883)", HelpName = "URL" };
        brokerUrls.Validators.Add(r =>
        {
            foreach (string url in r.GetValueOrDefault<string[]>() ?? [])
            {
                try { Alicia.Engine.Bus.BrokerEndpoint.Parse(url); }
                catch (FormatException e) { r.AddError($"--broker-url: {e.Message}"); }
            }
        });

        Command Sub(string name, string description, Func<ParseResult, Request> request, params Symbol[] symbols)
        {
            var command = cli.ReadsConfiguration(new Command(name, description));
            foreach (Symbol symbol in symbols)
            {
                if (symbol is Argument argument) command.Add(argument);
                else command.Add((Option)symbol);
            }
            command.SetAction(result => Execute(cli, cli.Load(result), request(result)));
            return command;
        }

        List<string> Roles(ParseResult r) => [.. (r.GetValue(roles) ?? []).SelectMany(x => x.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];
        List<string> Urls(ParseResult r) => [.. r.GetValue(brokerUrls) ?? []];

        return new Command("device", "Device and service identities: certificate from the local CA, Ed25519 signing key, trust, bundle")
        {
            Sub("provision", "Provision an identity: certificate, signing key, bundle (ca.pem, cert.pem, key.pem, <id>.key, device.json); the engine trusts it at once",
                r => new Request("provision", r.GetValue(id)!)
                {
                    Kind = r.GetValue(type), Roles = Roles(r), PasswordVariable = r.GetValue(password), OutDir = r.GetValue(outDir), Validity = r.GetValue(validity), BrokerUrls = Urls(r),
                }, id, type, roles, password, outDir, validity, brokerUrls),
            Sub("revoke", "Revoke an identity: its certificates are refused and its key untrusted; a running engine drops its connections within a second",
                r => new Request("revoke", r.GetValue(id)!) { Reason = r.GetValue(reason) }, id, reason),
            Sub("renew", "Renew an identity's certificate and signing key; the previous ones keep working during the overlap",
                r => new Request("renew", r.GetValue(id)!) { Overlap = r.GetValue(overlap) ?? TimeSpan.FromHours(24), OutDir = r.GetValue(outDir), Validity = r.GetValue(validity), BrokerUrls = Urls(r) },
                id, overlap, outDir, validity, brokerUrls),
            Sub("list", "List the identities: type, roles, status, current certificate", _ => new Request("list", ""), []),
        };
    }

    private static Option<TimeSpan?> Duration(string name, string description, bool allowZero) => new(name)
    {
        Description = description,
        HelpName = "DURATION",
        CustomParser = r =>
        {
            try { return ParseDuration(r.Tokens[0].Value, name, allowZero); }
            catch (Alicia.Host.Configuration.ConfigurationError e)
            {
                r.AddError(e.Message);
                return null;
            }
        },
    };

    private static int Execute(CliContext cli, AliciaEngineOptions options, Request request)
    {
        TextWriter stdout = cli.Out, stderr = cli.Err;
        string sub = request.Sub, id = request.Id;
        List<string> roles = request.Roles, brokerUrls = request.BrokerUrls;
        TimeSpan? validity = request.Validity;
        string? outDir = request.OutDir, reason = request.Reason;
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

        switch (sub)
        {
            case "provision":
            {
                IdentityKind kind = request.Kind;
                string? password = null;
                if (request.PasswordVariable is { } passwordVariable)
                {
                    password = cli.Variable(passwordVariable);
                    if (string.IsNullOrEmpty(password))
                    {
                        stderr.WriteLine($"alicia device provision: --password-from-env {passwordVariable}: the variable is not set or empty");
                        return Cli.Usage;
                    }
                }
                ProvisionResult result;
                try
                {
                    result = provisioner.Provision(new ProvisionRequest(id, kind)
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
                Audit(options, AuditKinds.Provisioned, id, $"{IdentityRecord.KindName(kind)}, certificate {result.CertificateSerial}{(roles.Count > 0 ? ", roles " + string.Join(",", roles) : "")}");
                stdout.WriteLine($"provisioned {IdentityRecord.KindName(kind)} '{id}'{(roles.Count > 0 ? " with roles " + string.Join(", ", roles) : "")}{(password is null ? "" : " (password set)")}");
                PrintResult(result, stdout);
                return Cli.Ok;
            }
            case "renew":
            {
                TimeSpan overlap = request.Overlap;
                ProvisionResult result;
                try
                {
                    result = provisioner.Renew(id, overlap, outDir, brokerUrls.Count > 0 ? brokerUrls : null, validity);
                }
                catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException)
                {
                    stderr.WriteLine($"alicia device renew: {e.Message}");
                    return Cli.Failed;
                }
                CertificateEntry? previous = result.Identity.Certificates.LastOrDefault(c => c.State == CertificateState.Previous);
                Audit(options, AuditKinds.Renewed, id, $"certificate {result.CertificateSerial}; previous valid until {previous?.ValidUntil:u}");
                stdout.WriteLine($"renewed '{id}': the previous certificate{(result.SigningKeyInBundle ? " and signing key stay" : " stays")} valid until {previous?.ValidUntil:u}");
                PrintResult(result, stdout);
                return Cli.Ok;
            }
            default: // revoke
                if (!provisioner.Revoke(id, reason))
                {
                    IdentityEntry? entry = store.Find(id);
                    stderr.WriteLine(entry is null ? $"alicia device revoke: no identity '{id}'" : $"alicia device revoke: '{id}' is already revoked");
                    return Cli.Failed;
                }
                Audit(options, AuditKinds.Revoked, id, reason ?? "revoked from the command line");
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
