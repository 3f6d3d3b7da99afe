using Alicia.Engine.Hosting;
using Alicia.Engine.Security.Audit;
using Alicia.Engine.Security.Gateway;
using Alicia.Host.Commands;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;

namespace Alicia.Integration.Tests;

/// <summary>
/// Issue 10 A6: what a client sends (client ids, user names, topics) reaches the engine's log and <c>alicia audit tail</c>
/// only escaped, so a refused topic with an embedded newline cannot forge a log line and no NUL or ESC reaches a terminal.
/// </summary>
public sealed class GatewayLogInjectionTests : IAsyncLifetime
{
    private const string Forged = "20:30:00.000 info SecurityGateway: FORGED";
    private readonly TempDirectory _dir = new("alicia-gwlog");
    private readonly RecordingLoggerProvider _log = new();
    private AliciaEngine _engine = null!;
    private AuditLog _audit = null!;

    public async Task InitializeAsync()
    {
        _audit = new AuditLog(Path.Combine(_dir.Data, "audit.db"));
        var gateway = new SecurityGateway(new GatewayOptions(), new PasswordDirectory(), _audit);
        var loggers = LoggerFactory.Create(b => b.AddProvider(_log).SetMinimumLevel(LogLevel.Trace));
        _engine = new AliciaEngine(TestEngine.DefaultOptions(_dir), loggerFactory: loggers);
        _engine.AddService(gateway);
        await _engine.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _engine.DisposeAsync();
        await _audit.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Gateway_refusals_with_newlines_and_escapes_in_topics_and_client_ids_forge_no_line_in_the_log_or_audit_tail()
    {
        string injectedTopic = "x\n" + Forged + " publish accepted\r\n" + Forged + " \u001b[2J\u001b]0;pwned\u0007";
        string escClientId = "eve\u001b[31m\u001b]0;pwned\u0007";

        // An anonymous client (read-only) with ESC sequences in its client id publishes to a topic with embedded lines.
        IMqttClient eve = await RawMqtt.ConnectAsync(_engine.ClientEndpoint!, escClientId);
        MqttClientPublishResult refused = await eve.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(injectedTopic)
            .WithPayload([1]).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, refused.ReasonCode);
        MqttClientSubscribeResult sub = await eve.SubscribeAsync("alicia/#");
        Assert.NotNull(sub);
        await eve.CloseAsync();

        // A refused login whose client id and user name carry a forged line and escapes.
        IMqttClient mallory = new MqttClientFactory().CreateMqttClient();
        try
        {
            await mallory.ConnectAsync(RawMqtt.Options(_engine.ClientEndpoint!, "m\n" + Forged + " client\u001b[2J")
                .WithCredentials("nobody\n" + Forged + " user\u001b[0m", "pw").Build());
        }
        catch (MQTTnet.Adapter.MqttConnectingFailedException) { }
        mallory.Dispose();

        await _audit.FlushAsync();
        IReadOnlyList<string> logLines = _log.Lines();
        Assert.Contains(logLines, l => l.Contains("Refused publish by anonymous to x\\n" + Forged, StringComparison.Ordinal));
        Assert.Contains(logLines, l => l.Contains("Refused connection of m\\n" + Forged, StringComparison.Ordinal) && l.Contains("\\u001b[2J", StringComparison.Ordinal));
        AssertClean("log", logLines);

        var stdout = new StringWriter();
        int code = await Cli.RunAsync(["audit", "tail", "-n", "100", "--data", _dir.Data], stdout, TextWriter.Null, new Dictionary<string, string?>());
        Assert.Equal(0, code);
        string[] tail = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(tail, l => l.Contains("x\\n" + Forged, StringComparison.Ordinal));
        Assert.Contains(tail, l => l.Contains("eve\\u001b[31m", StringComparison.Ordinal));
        AssertClean("audit tail", tail);
        // The chain still verifies over the escaped records.
        Assert.Null(AuditLog.Verify(_audit.Path, out _));
    }

    [Fact]
    public void Audit_tail_escapes_rows_stored_raw_before_escaping_existed()
    {
        var raw = new AuditRecord(7, DateTimeOffset.UnixEpoch, "acl.denied", "a\u0000b", "x\n" + Forged, "d\u001b[2J", "e\r\u009b", new byte[32], new byte[32]);
        string line = AuditCommand.Line(raw);
        AssertClean("line", [line]);
        Assert.Contains("x\\n" + Forged, line, StringComparison.Ordinal);
        string bounded = Untrusted.Escape("a\\b\nc\u001b" + new string('z', 600), 16);
        Assert.Equal("a\\\\b\\nc\\u001bzzz...(606 chars)", bounded);
    }

    private static void AssertClean(string where, IEnumerable<string> lines)
    {
        foreach (string line in lines)
        {
            string trimmed = line.TrimEnd('\r');
            Assert.False(trimmed.TrimStart().StartsWith(Forged, StringComparison.Ordinal), $"{where}: a forged line: {trimmed}");
            Assert.True(trimmed.All(c => c >= 0x20 && c is not ('\u007f' or >= '\u0080' and <= '\u009f')), $"{where}: raw control characters in: {Untrusted.Escape(trimmed)}");
        }
    }

    /// <summary>Lines as a console or journal would show them: each formatted message split at its line breaks.</summary>
    private sealed class RecordingLoggerProvider : ILoggerProvider
    {
        private readonly List<string> _lines = [];

        public IReadOnlyList<string> Lines() { lock (_lines) return [.. _lines]; }

        public ILogger CreateLogger(string categoryName) => new Recorder(this, categoryName);

        public void Dispose() { }

        private sealed class Recorder(RecordingLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                string text = $"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)}";
                lock (owner._lines) owner._lines.AddRange(text.Split('\n'));
            }
        }
    }
}
