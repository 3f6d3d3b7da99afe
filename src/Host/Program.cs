using Alicia.Host;
using Alicia.Host.Commands;

StartupClock.Mark();
return await Cli.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
