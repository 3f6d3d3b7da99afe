using System.Globalization;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security.Audit;
using Alicia.Host.Configuration;

namespace Alicia.Host.Commands;

/// <summary><c>alicia audit tail|verify</c>: read the security audit log.</summary>
internal static class AuditCommand
{
    public static string PathFor(AliciaEngineOptions options) => Path.Combine(options.DataDirectory, "audit.db");

    public static int Execute(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var tokens = args.ToList();
        string? sub = tokens.Count > 0 && !tokens[0].StartsWith('-') ? tokens[0] : null;
        if (sub is not ("tail" or "verify"))
        {
            stderr.WriteLine("alicia audit: say 'tail [-n N]' or 'verify'");
            return Cli.Usage;
        }
        tokens.RemoveAt(0);
        string countText = Cli.TakeOption(tokens, "-n") ?? Cli.TakeOption(tokens, "--lines") ?? "20";
        if (!int.TryParse(countText, NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count < 1)
            throw new ConfigurationError($"-n: '{countText}' is not a positive number");
        AliciaEngineOptions options = ConfigurationLoader.Load(tokens);
        string path = PathFor(options);
        if (!File.Exists(path))
        {
            stderr.WriteLine($"alicia audit: no audit log at {path} (the engine writes it when the security gateway runs)");
            return Cli.Failed;
        }

        if (sub == "tail")
        {
            foreach (AuditRecord r in AuditLog.Tail(path, count))
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Sequence,6} {r.At:yyyy-MM-dd HH:mm:ss.fff} {r.Kind,-20} {r.Identity,-20} {r.Topic} {r.Decision}: {r.Detail}"));
            return Cli.Ok;
        }

        string? broken = AuditLog.Verify(path, out long records);
        if (broken is null)
        {
            stdout.WriteLine($"audit log intact: {records} records, hash chain verified ({path})");
            return Cli.Ok;
        }
        stdout.WriteLine($"audit log BROKEN: {broken} ({records} records read, {path})");
        return Cli.Failed;
    }
}
