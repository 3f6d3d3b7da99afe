namespace Alicia.TestSupport;

/// <summary>Mosquitto's command-line clients (package mosquitto-clients), as a user or a small device runs them.</summary>
public static class MosquittoClients
{
    /// <summary>Runs <c>mosquitto_pub</c> with <paramref name="arguments"/> to its end.</summary>
    public static Task<ProcessResult> PublishAsync(params string[] arguments) => ChildProcess.RunAsync("mosquitto_pub", arguments, TimeSpan.FromSeconds(30));

    /// <summary>
    /// Starts <c>mosquitto_sub</c> with <paramref name="arguments"/> and returns once the broker acknowledged its
    /// SUBSCRIBE, so what is published afterwards reaches it: no publish-until-seen loop, no sleep. (Debug output,
    /// <c>-d</c>, reports the SUBACK; <c>stdbuf -oL</c> makes it print line by line into the pipe.)
    /// </summary>
    public static async Task<MosquittoSubscriber> SubscribeAsync(params string[] arguments)
    {
        ChildProcess process = ChildProcess.Start("stdbuf", ["-oL", "mosquitto_sub", "-d", .. arguments]);
        try
        {
            string subscribed = await process.WaitForLineAsync(line => line.StartsWith("Subscribed (mid:", StringComparison.Ordinal));
            return new MosquittoSubscriber(process, subscribed[(subscribed.IndexOf(':', 16) + 1)..].Trim());
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }
}

/// <summary>A running <c>mosquitto_sub</c> whose subscription the broker has acknowledged.</summary>
public sealed class MosquittoSubscriber : IAsyncDisposable
{
    private readonly ChildProcess _process;

    internal MosquittoSubscriber(ChildProcess process, string granted)
    {
        _process = process;
        Granted = granted;
    }

    /// <summary>The SUBACK's reason codes as mosquitto_sub printed them ("0" granted QoS 0, "1" QoS 1, "135" not authorised ...).</summary>
    public string Granted { get; }

    /// <summary>Everything it printed (debug lines and messages), for assertion messages.</summary>
    public string Log => _process.Log;

    /// <summary>The first output line that <paramref name="match"/> accepts (a message as its <c>-F</c> format prints it).</summary>
    public Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan? timeout = null) => _process.WaitForLineAsync(match, timeout);

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
