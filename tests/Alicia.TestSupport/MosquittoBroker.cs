using System.Globalization;
using Alicia.Engine.Bus;

namespace Alicia.TestSupport;

/// <summary>
/// A real Mosquitto 2 as a child process: on a free loopback port with a generated configuration, or from a
/// configuration the caller wrote. Started when Mosquitto logs that it is running, not after a fixed time.
/// </summary>
public sealed class MosquittoBroker : IAsyncDisposable
{
    private readonly ChildProcess _process;
    private readonly TempDirectory? _directory;
    private readonly int? _port;

    private MosquittoBroker(ChildProcess process, TempDirectory? directory, int? port)
    {
        _process = process;
        _directory = directory;
        _port = port;
    }

    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Debian's mosquitto, wherever the package put it.</summary>
    public static string Binary =>
        new[] { "/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("mosquitto is not installed (apt-get install mosquitto; scripts/test.sh installs it)");

    /// <summary>The loopback port of a broker started by <see cref="StartLoopbackAsync"/>.</summary>
    public int Port => _port ?? throw new InvalidOperationException("this broker runs the caller's configuration: its listeners are the caller's to know");

    public BrokerEndpoint Endpoint => BrokerEndpoint.Tcp("127.0.0.1", Port);

    /// <summary>Everything Mosquitto logged so far (for assertion messages).</summary>
    public string Log => _process.Log;

    /// <summary>User + system CPU time of the broker so far, or null when unreadable.</summary>
    public TimeSpan? CpuTime() => _process.CpuTime();

    /// <summary>The broker's process id (to read its statistics from /proc).</summary>
    public int ProcessId => _process.Id;

    /// <summary>
    /// Anonymous MQTT on a free loopback port, no persistence, a queue deep enough for load runs. A port taken
    /// between choosing it and Mosquitto binding it is retried with another.
    /// </summary>
    public static async Task<MosquittoBroker> StartLoopbackAsync(string? binary = null, TimeSpan? timeout = null)
    {
        for (int attempt = 1; ; attempt++)
        {
            var directory = new TempDirectory("alicia-mosquitto");
            int port = FreePort.Next();
            string config = directory.Sub("mosquitto.conf");
            await File.WriteAllTextAsync(config, string.Create(CultureInfo.InvariantCulture, $"""
                listener {port} 127.0.0.1
                allow_anonymous true
                set_tcp_nodelay true
                max_queued_messages 1000000
                persistence false
                log_dest stderr
                log_type error
                log_type warning
                log_type notice
                log_type information

                """)).ConfigureAwait(false);
            try
            {
                return await LaunchAsync(binary ?? Binary, config, directory, port, timeout).ConfigureAwait(false);
            }
            catch (InvalidOperationException e) when (attempt < 3 && e.Message.Contains("Address already in use", StringComparison.Ordinal))
            {
                // Someone took the port meanwhile: choose another.
            }
        }
    }

    /// <summary>Mosquitto with a configuration the caller wrote (TLS listeners, ACLs ...).</summary>
    public static Task<MosquittoBroker> StartAsync(string configFile, string? binary = null, TimeSpan? timeout = null) =>
        LaunchAsync(binary ?? Binary, configFile, null, null, timeout);

    private static async Task<MosquittoBroker> LaunchAsync(string binary, string configFile, TempDirectory? directory, int? port, TimeSpan? timeout)
    {
        if (!File.Exists(binary))
        {
            directory?.Dispose();
            throw new FileNotFoundException($"mosquitto not found at {binary} (apt-get install mosquitto)", binary);
        }
        var broker = new MosquittoBroker(ChildProcess.Start(binary, ["-c", configFile]), directory, port);
        try
        {
            await broker._process.WaitForLineAsync(line => line.EndsWith(" running", StringComparison.Ordinal), timeout ?? StartTimeout).ConfigureAwait(false);
            return broker;
        }
        catch
        {
            await broker.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync().ConfigureAwait(false);
        _directory?.Dispose();
    }
}

/// <summary>A loopback Mosquitto shared by the tests of a class.</summary>
public sealed class MosquittoFixture : IAsyncLifetime
{
    private MosquittoBroker? _broker;

    public MosquittoBroker Broker => _broker ?? throw new InvalidOperationException("the fixture is not initialised");
    public int Port => Broker.Port;
    public BrokerEndpoint Endpoint => Broker.Endpoint;

    public async Task InitializeAsync() => _broker = await MosquittoBroker.StartLoopbackAsync();

    public async Task DisposeAsync()
    {
        if (_broker is not null) await _broker.DisposeAsync();
    }
}
