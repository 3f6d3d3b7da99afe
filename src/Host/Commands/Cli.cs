using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using Alicia.Host.Configuration;

namespace Alicia.Host.Commands;

/// <summary>
/// The <c>alicia</c> command line on System.CommandLine (AOT-safe: no reflection): one <see cref="Command"/>
/// per verb with typed options and arguments, so <c>alicia &lt;command&gt; --help</c> prints that command's
/// help. Configuration keys (<c>--Security:MaxClockSkew=00:00:10</c>) are taken out of the arguments before
/// parsing and go to the configuration of the commands that read it.
/// </summary>
internal static class Cli
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;

    public const string Description = """
        alicia - the Alicia voice-assistant message bus: an MQTT 5 bus where every message is signed (Ed25519).
        Run 'alicia <command> --help' for a command's options.
        """;

    public const string Epilogue = """
        Configuration (commands with --config): alicia.json in the working directory or --config FILE (relative
        paths in it are relative to its folder), then ALICIA_<Key> environment variables (__ for ':',
        ALICIA_Broker__Port=1884, ALICIA_DataDirectory=/var/lib/alicia/data), then any key on the command line
        as --Section:Key=VALUE (e.g. --Security:MaxClockSkew=00:00:10), then the command's own options.
        Exit codes: 0 ok, 1 failure, 2 usage or configuration error.
        """;

    /// <summary>Runs <c>alicia</c> with <paramref name="args"/>; the exit code.</summary>
    /// <param name="environment">The environment for configuration (<c>ALICIA_*</c>) and <c>--password-from-env</c>; null: the process's.</param>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr,
        IDictionary<string, string?>? environment = null, CancellationToken cancellationToken = default)
    {
        Func<string, string?> variable = environment is null
            ? Environment.GetEnvironmentVariable
            : name => environment.TryGetValue(name, out string? value) ? value : null;
        return await RunAsync(args, stdout, stderr, environment, variable, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Synchronous <see cref="RunAsync(string[], TextWriter, TextWriter, IDictionary{string, string?}?, CancellationToken)"/> (for commands that do not wait on anything).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, Func<string, string?>? variable = null) =>
        RunAsync(args, stdout, stderr, null, variable ?? Environment.GetEnvironmentVariable, CancellationToken.None).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr,
        IDictionary<string, string?>? environment, Func<string, string?> variable, CancellationToken cancellationToken)
    {
        // `alicia help [command...]` is `alicia [command...] --help`.
        if (args is ["help", .. var rest]) args = [.. rest, "--help"];

        List<string> tokens;
        List<KeyValuePair<string, string?>> keys;
        try
        {
            (tokens, keys) = SplitConfigurationKeys(args);
        }
        catch (ConfigurationError e)
        {
            stderr.WriteLine($"alicia: {e.Message}");
            return Usage;
        }

        var context = new CliContext(stdout, stderr, environment, variable, keys);
        RootCommand root = Build(context);
        ParseResult result = root.Parse(tokens);
        if (result.Action is ParseErrorAction)
        {
            ReportParseErrors(result, stderr);
            return Usage;
        }
        if (keys.Count > 0 && result.Action is not HelpAction && !context.HasConfiguration(result.CommandResult.Command))
        {
            stderr.WriteLine($"{CommandPath(result.CommandResult)}: unknown option '--{keys[0].Key}' (configuration keys apply to the commands that read the configuration)");
            return Usage;
        }

        try
        {
            return await result.InvokeAsync(new InvocationConfiguration
            {
                Output = stdout,
                Error = stderr,
                EnableDefaultExceptionHandler = false,
                // `alicia run` (the Generic Host) and `alicia simulate` handle SIGINT/SIGTERM themselves.
                ProcessTerminationTimeout = null,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (ConfigurationError e)
        {
            stderr.WriteLine($"{CommandPath(result.CommandResult)}: configuration error: {e.Message}");
            return Usage;
        }
    }

    /// <summary>The command tree. Built for each invocation: its actions write to that invocation's writers.</summary>
    internal static RootCommand Build(CliContext context)
    {
        var root = new RootCommand(Description) { HelpName = "alicia" };
        root.Add(RunCommand.Create(context));
        root.Add(KeysCommand.Create(context));
        root.Add(PingCommand.Create(context));
        root.Add(DevicesCommand.Create(context));
        root.Add(SimulateCommand.Create(context));
        root.Add(VoiceCommand.Create(context));
        root.Add(ModelsCommand.Create(context));
        root.Add(CaCommand.Create(context));
        root.Add(DeviceIdentityCommand.Create(context));
        root.Add(BrokerCommand.Create(context));
        root.Add(AuditCommand.Create(context));
        root.Add(SayCommand.Create(context));

        foreach (HelpOption option in root.Options.OfType<HelpOption>())
            option.Action = new HelpWithFooter(new HelpAction { MaxWidth = 110 }, context);
        return root;
    }

    /// <summary>System.CommandLine's help, then how configuration is found (for the commands that read it) and the exit codes.</summary>
    private sealed class HelpWithFooter(HelpAction help, CliContext context) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            int code = help.Invoke(parseResult);
            Command command = parseResult.CommandResult.Command;
            TextWriter output = parseResult.InvocationConfiguration.Output;
            output.WriteLine(command is RootCommand || context.HasConfiguration(command) ? Epilogue.TrimEnd() : "Exit codes: 0 ok, 1 failure, 2 usage error.");
            return code;
        }
    }

    /// <summary>
    /// Takes configuration keys out of the arguments: <c>--Section:Key=VALUE</c>, <c>--Key=VALUE</c> or
    /// <c>--Key VALUE</c>, where the name starts with a capital letter or has a ':' (the commands' own options
    /// are lower-case, <c>--port</c>). Everything after <c>--</c> is left alone.
    /// </summary>
    internal static (List<string> Tokens, List<KeyValuePair<string, string?>> Keys) SplitConfigurationKeys(IReadOnlyList<string> args)
    {
        var tokens = new List<string>(args.Count);
        var keys = new List<KeyValuePair<string, string?>>();
        for (int i = 0; i < args.Count; i++)
        {
            string t = args[i];
            if (t == "--")
            {
                tokens.AddRange(args.Skip(i));
                break;
            }
            if (!IsConfigurationKey(t))
            {
                tokens.Add(t);
                continue;
            }
            int equals = t.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                keys.Add(new(t[2..equals], t[(equals + 1)..]));
                continue;
            }
            if (i + 1 >= args.Count) throw new ConfigurationError($"{t} needs a value ({t}=VALUE or {t} VALUE)");
            keys.Add(new(t[2..], args[++i]));
        }
        return (tokens, keys);
    }

    private static bool IsConfigurationKey(string token)
    {
        if (token.Length < 3 || !token.StartsWith("--", StringComparison.Ordinal) || !char.IsAsciiLetter(token[2])) return false;
        int equals = token.IndexOf('=', StringComparison.Ordinal);
        ReadOnlySpan<char> name = equals > 0 ? token.AsSpan(2, equals - 2) : token.AsSpan(2);
        return char.IsAsciiLetterUpper(name[0]) || name.Contains(':');
    }

    /// <summary>Parse errors as <c>alicia ping: unknown option '--frob'</c>, and where to read the usage.</summary>
    private static void ReportParseErrors(ParseResult result, TextWriter stderr)
    {
        string path = CommandPath(result.CommandResult);
        Command command = result.CommandResult.Command;
        IReadOnlyList<string> unmatched = result.UnmatchedTokens;
        foreach (string token in unmatched)
        {
            string what = token.StartsWith('-') ? "unknown option" : command.Subcommands.Count > 0 ? "unknown command" : "unexpected argument";
            stderr.WriteLine($"{path}: {what} '{token}'");
        }
        bool missingCommand = false;
        foreach (ParseError error in result.Errors)
        {
            if (unmatched.Any(t => error.Message.Contains($"'{t}'", StringComparison.Ordinal))) continue;
            if (command.Subcommands.Count > 0 && command.Action is null && error.SymbolResult is CommandResult { Command: var c } && c == command)
            {
                missingCommand = true;
                continue;
            }
            stderr.WriteLine($"{path}: {error.Message}");
        }
        if (missingCommand && unmatched.Count == 0)
            stderr.WriteLine($"{path}: which command? {string.Join(", ", command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))}");
        stderr.WriteLine($"Run '{path} --help' for usage.");
    }

    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is not null; r = r.Parent)
            if (r is CommandResult c) names.Add(c.Command is RootCommand ? "alicia" : c.Command.Name);
        names.Reverse();
        return string.Join(' ', names);
    }
}
