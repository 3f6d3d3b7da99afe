using Alicia.Host;
using Alicia.Host.Commands;

StartupClock.Mark();
StartupTrace.Mark("Main");
return await Cli.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
