using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Alicia.Host.Logging;

/// <summary>
/// The CLI's logging: Microsoft.Extensions.Logging.Console, one line per entry on standard error (standard
/// output stays for the commands' results), full exceptions with their stack traces. Under systemd,
/// <c>AddSystemd()</c> switches the format to the journal's.
/// </summary>
internal static class ConsoleLogging
{
    public static ILoggingBuilder AddAliciaConsole(this ILoggingBuilder builder, LogLevel minimum)
    {
        builder.SetMinimumLevel(minimum);
        builder.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
            o.UseUtcTimestamp = true;
            o.ColorBehavior = LoggerColorBehavior.Disabled;
        });
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        return builder;
    }

    public static ILoggerFactory Create(LogLevel minimum) => LoggerFactory.Create(b => b.AddAliciaConsole(minimum));
}
