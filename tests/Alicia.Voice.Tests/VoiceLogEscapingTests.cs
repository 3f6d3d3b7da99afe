using System.Net.Sockets;
using System.Text;
using Alicia.Engine.Hosting;
using Alicia.Voice;
using Microsoft.Extensions.Logging;

namespace Alicia.Voice.Tests;

/// <summary>
/// Issue 10 A6, the voice transport's part: a refused WebSocket upgrade quotes what the client sent (its path); the
/// refusal reaches the engine's log with control characters escaped, so a request cannot forge a log line.
/// </summary>
public sealed class VoiceLogEscapingTests
{
    private sealed class RecordingLoggerFactory : ILoggerFactory
    {
        public readonly List<string> Messages = [];
        public ILogger CreateLogger(string categoryName) => new Recorder(this);
        public void AddProvider(ILoggerProvider provider) { }
        public void Dispose() { }

        private sealed class Recorder(RecordingLoggerFactory owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner.Messages) owner.Messages.Add(formatter(state, exception));
            }
        }
    }

    [Fact]
    public async Task A_refused_upgrade_with_a_forged_line_in_its_path_is_logged_escaped()
    {
        using var dir = new TempDirectory("alicia-voice-log");
        var logs = new RecordingLoggerFactory();
        var voice = new VoiceService(new VoiceOptions { VadModelPath = TestAudio.VadModelPath, WhisperModelPath = TestAudio.MicroModel });
        await using var engine = new AliciaEngine(TestEngine.DefaultOptions(dir), loggerFactory: logs);
        engine.AddService(voice);
        await engine.StartAsync();

        // An ESC sequence and a bare CR inside the request target (the request line itself ends at CRLF; no spaces).
        string path = "/other\u001b[2J\r20:30:00.000-AudioStreamServer:-FORGED";
        byte[] request = Encoding.UTF8.GetBytes($"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
        using (var client = new TcpClient())
        {
            await client.ConnectAsync("127.0.0.1", voice.AudioEndPoint!.Port);
            NetworkStream stream = client.GetStream();
            await stream.WriteAsync(request);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            string response = await reader.ReadToEndAsync(new CancellationTokenSource(VoiceEngineHarness.Wait).Token);
            Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", response);
        }

        List<string> refusals;
        lock (logs.Messages) refusals = [.. logs.Messages.Where(m => m.Contains("refused", StringComparison.Ordinal))];
        string refusal = Assert.Single(refusals, m => m.Contains("WebSocket upgrade", StringComparison.Ordinal));
        Assert.Contains("/other\\u001b[2J\\r20:30:00.000-AudioStreamServer:-FORGED", refusal);
        lock (logs.Messages) Assert.DoesNotContain(logs.Messages, m => m.Any(c => c is '\u001b' or '\r' or '\n' or '\0'));
    }
}
