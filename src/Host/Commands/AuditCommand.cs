using System.Globalization;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security;
using Alicia.Engine.Security.Audit;
using Alicia.Engine.Security.Gateway;
using System.CommandLine;

namespace Alicia.Host.Commands;

/// <summary><c>alicia audit tail|verify</c>: read the security audit log.</summary>
internal static class AuditCommand
{
    public static string PathFor(AliciaEngineOptions options) => Path.Combine(options.DataDirectory, "audit.db");

    internal static Command Create(CliContext cli)
    {
        var count = new Option<int>("--lines", "-n") { Description = "How many records (default 20)", HelpName = "N", DefaultValueFactory = _ => 20,
            CustomParser = CommonOptions.Integer("-n", 1, int.MaxValue, "a positive number") };
        var tail = cli.ReadsConfiguration(new Command("tail", "The last security decisions of the audit log (<DataDirectory>/audit.db)") { count });
        tail.SetAction(result => Execute(cli, cli.Load(result), "tail", result.GetValue(count)));
        var verify = cli.ReadsConfiguration(new Command("verify", "Check the audit log's hash chain and its signed checkpoints; names altered, missing, removed or rewritten records"));
        verify.SetAction(result => Execute(cli, cli.Load(result), "verify", 0));
        return new Command("audit", "The security audit log (append-only, SHA-256 hash chain anchored by signed checkpoints)") { tail, verify };
    }

    /// <summary>
    /// One record as <c>audit tail</c> prints it. The log stores client-supplied text escaped, but rows written
    /// before that (or by hand) may not be: every field is escaped again here, so a record is always one line
    /// and no control character reaches the terminal.
    /// </summary>
    internal static string Line(AuditRecord r) => string.Create(CultureInfo.InvariantCulture,
        $"{r.Sequence,6} {r.At:yyyy-MM-dd HH:mm:ss.fff} {Untrusted.EscapeControls(r.Kind),-20} {Untrusted.EscapeControls(r.Identity),-20} {Untrusted.EscapeControls(r.Topic)} {Untrusted.EscapeControls(r.Decision)}: {Untrusted.EscapeControls(r.Detail)}");

    private static int Execute(CliContext cli, AliciaEngineOptions options, string sub, int count)
    {
        TextWriter stdout = cli.Out, stderr = cli.Err;
        string path = PathFor(options);
        if (!File.Exists(path))
        {
            stderr.WriteLine($"alicia audit: no audit log at {path} (the engine writes it when the security gateway runs)");
            return Cli.Failed;
        }

        if (sub == "tail")
        {
            foreach (AuditRecord r in AuditLog.Tail(path, count))
                stdout.WriteLine(Line(r));
            return Cli.Ok;
        }

        // The chain, and the chain against the checkpoints the engine signed (audit.checkpoints beside audit.db).
        new KeyDirectory(options.KeyDirectory).TryReadPublicKey(options.Name, out NSec.Cryptography.PublicKey? engineKey);
        AuditVerification result = AuditLog.VerifyAnchored(path, AuditCheckpoints.PathFor(path), options.Name, engineKey);
        string anchored = result.Latest is { } latest
            ? $"{result.Checkpoints} signed checkpoints, the latest of {AuditLog.When(latest)} at record {latest.Records}"
            : "no checkpoints";
        if (result.Intact)
        {
            stdout.WriteLine($"audit log intact: {result.Records} records, hash chain verified, {anchored} ({path})");
            return Cli.Ok;
        }
        foreach (string problem in result.Problems) stdout.WriteLine($"audit log BROKEN: {problem}");
        stdout.WriteLine($"({result.Records} records read, {anchored}, {path})");
        return Cli.Failed;
    }
}
