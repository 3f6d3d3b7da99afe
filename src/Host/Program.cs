using Alicia.Host;
using Alicia.Host.Commands;

StartupTrace.Start();
return await Cli.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
