using System.Globalization;

namespace Alicia.Host.Tests;

/// <summary><c>alicia voice send</c> whose publish the broker refuses ends with a one-line error, not a stack trace.</summary>
public sealed class VoiceRefusedTests : IDisposable
{
    private readonly TempDirectory _dir = new("alicia-voice-refused");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_publish_refused_by_the_brokers_acl_is_reported_in_one_line()
    {
        // Mosquitto that lets anyone connect and read, and nobody write: every PUBLISH gets "not authorized".
        int port = FreePort.Next();
        string acl = _dir.Sub("acl");
        await File.WriteAllTextAsync(acl, "topic read #\n");
        string config = _dir.Sub("mosquitto.conf");
        await File.WriteAllTextAsync(config, string.Create(CultureInfo.InvariantCulture, $"listener {port} 127.0.0.1\nallow_anonymous true\nacl_file {acl}\npersistence false\nlog_dest stderr\nlog_type notice\nlog_type information\n"));
        await using MosquittoBroker broker = await MosquittoBroker.StartAsync(config);

        string wav = _dir.Sub("a.wav");
        VoiceTimeoutTests.WriteSilenceWav(wav, 16000, 16000);
        var environment = new Dictionary<string, string?>
        {
            ["ALICIA_DataDirectory"] = _dir.Sub("data"),
            ["ALICIA_KeyDirectory"] = _dir.Sub("keys"),
        };
        (int code, _, string error) = await CliTests.Run(environment, "voice", "send", wav, "--port", port.ToString(CultureInfo.InvariantCulture), "--timeout", "10")
            .WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(1, code);
        Assert.Contains("alicia voice:", error);
        Assert.Contains("NotAuthorized", error, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Unhandled exception", error);
        Assert.DoesNotContain("   at ", error);
    }
}
