using Microsoft.Extensions.Logging;

namespace Alicia.Host.Logging;

/// <summary>
/// A small stderr logger: one line per event with time, level and category. Written here rather than
/// taken from Microsoft.Extensions.Logging.Console to keep the Native-AOT binary small and warning-free.
/// </summary>
internal sealed class ConsoleLoggerProvider(LogLevel minimum) : ILoggerProvider
{
    private readonly Lock _lock = new();

    public ILogger CreateLogger(string categoryName) => new ConsoleLogger(ShortName(categoryName), minimum, _lock);

    private static string ShortName(string category) => category[(category.LastIndexOf('.') + 1)..];

    public void Dispose() { }

    private sealed class ConsoleLogger(string category, LogLevel minimum, Lock gate) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            string level = logLevel switch
            {
                LogLevel.Trace => "trce",
                LogLevel.Debug => "dbug",
                LogLevel.Information => "info",
                LogLevel.Warning => "warn",
                LogLevel.Error => "fail",
                _ => "crit",
            };
            string line = $"{DateTime.UtcNow:HH:mm:ss.fff} {level} {category}: {formatter(state, exception)}";
            lock (gate)
            {
                Console.Error.WriteLine(line);
                if (exception is not null && logLevel >= LogLevel.Warning) Console.Error.WriteLine("    " + exception.Message);
            }
        }
    }
}
