using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security;

namespace Alicia.Host.Commands;

/// <summary>
/// What every client command (ping, devices, voice, simulate) does first: find the broker from the
/// configuration, load (or create) its signing key, and connect a verifying bus client.
/// </summary>
internal sealed class BusClient : IAsyncDisposable
{
    private BusClient(AliciaBus bus, SigningIdentity identity, KeyDirectory keys, BrokerEndpoint endpoint, bool authenticated)
    {
        Authenticated = authenticated;
        Bus = bus;
        Identity = identity;
        Keys = keys;
        Endpoint = endpoint;
    }

    public AliciaBus Bus { get; }
    public SigningIdentity Identity { get; }
    public KeyDirectory Keys { get; }
    public BrokerEndpoint Endpoint { get; }

    /// <summary>Whether the connection presented the local tool's password (else it is anonymous: read-only at the gateway).</summary>
    public bool Authenticated { get; }

    /// <summary>Why the broker may have refused a publish: the connection went without the local tool's password.</summary>
    public string RefusalHint(AliciaEngineOptions options) => Authenticated ? "" :
        $". This connection has no password: {Alicia.Tools.LocalTools.PasswordFile(options.DataDirectory, Identity.Name)} is not readable here. " +
        "Point --data (or DataDirectory in the configuration, or ALICIA_DataDirectory) at the running engine's data directory, and --keys (KeyDirectory, ALICIA_KeyDirectory) at its key directory";

    /// <summary>The configured external broker, or the local engine's embedded broker.</summary>
    public static BrokerEndpoint EndpointOf(AliciaEngineOptions options) => string.IsNullOrWhiteSpace(options.BrokerUrl)
        ? BrokerEndpoint.Tcp(options.Broker.ListenAddress == "0.0.0.0" ? "127.0.0.1" : options.Broker.ListenAddress, options.Broker.Port == 0 ? 1883 : options.Broker.Port)
        : BrokerEndpoint.Parse(options.BrokerUrl);

    /// <summary>
    /// The CA a client trusts for the engine's audio port (tls://, wss://): Bus:CaCertificatePath, as for
    /// mqtts://, else the local engine's own <c>ca.pem</c> when this user can read it (that port's
    /// certificate always comes from our CA; an mqtts:// broker's may be a public one, so the bus gets no fallback).
    /// </summary>
    public static string? CaCertificateOf(AliciaEngineOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.Bus.CaCertificatePath)) return options.Bus.CaCertificatePath;
        string local = Path.Combine(Alicia.Engine.Security.Identity.CertificateAuthority.DirectoryFor(options.DataDirectory), Alicia.Engine.Security.Identity.CertificateAuthority.CertificateFile);
        return File.Exists(local) ? local : null;
    }

    /// <summary>
    /// The engine's local-tool password for <paramref name="identityName"/> (alicia-cli, alicia-simulator),
    /// when this user can read the engine's data directory: the security gateway accepts it on loopback.
    /// </summary>
    public static (string User, byte[] Password)? LocalCredentials(AliciaEngineOptions options, string identityName) =>
        Alicia.Tools.LocalTools.TryReadPassword(options.DataDirectory, identityName) is { } password
            ? (identityName, System.Text.Encoding.UTF8.GetBytes(password))
            : null;

    /// <summary>Connects as <paramref name="identityName"/>; on failure prints why (as <c>alicia {command}: ...</c>) and returns null.</summary>
    public static async Task<BusClient?> ConnectAsync(string command, AliciaEngineOptions options, string identityName, TimeSpan timeout,
        TextWriter stderr, CancellationToken cancellationToken)
    {
        BrokerEndpoint endpoint = EndpointOf(options);
        var keys = new KeyDirectory(options.KeyDirectory);
        SigningIdentity identity = keys.Load(identityName, createIfMissing: true);
        // A short-lived client hears few messages: a small replay filter instead of the engine's 13 MB one.
        var security = new VerifierOptions { MaxClockSkew = options.Security.MaxClockSkew, MaxMessageBytes = options.Security.MaxMessageBytes, ReplayCapacity = 4096, TrustedAttesters = options.Security.TrustedAttesters };
        var verifier = new EnvelopeVerifier(new TrustStore(keys), security);
        try
        {
            bool authenticated = false;
            var busOptions = new BusOptions
            {
                RequestTimeout = timeout,
                // mqtts:// to our own broker: its certificate chains to this CA, not to a public root.
                CaCertificatePath = string.IsNullOrWhiteSpace(options.Bus.CaCertificatePath) ? null : options.Bus.CaCertificatePath,
            };
            if (LocalCredentials(options, identityName) is { } credentials)
            {
                busOptions.Username = credentials.User;
                busOptions.Password = credentials.Password;
                busOptions.ClientId = $"{identityName}:{Guid.NewGuid():N}"[..Math.Min(identityName.Length + 9, 64)];
                authenticated = true;
            }
            AliciaBus bus = await AliciaBus.ConnectAsync(endpoint, identity, verifier, busOptions, cancellationToken: cancellationToken).ConfigureAwait(false);
            return new BusClient(bus, identity, keys, endpoint, authenticated);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            identity.Dispose();
            stderr.WriteLine($"alicia {command}: cannot connect to {endpoint}: {e.Message}");
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Bus.DisposeAsync().ConfigureAwait(false);
        Identity.Dispose();
    }
}
