using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alicia.Engine.Security.Identity;

/// <summary>
/// Identity inside a running engine: opens the <see cref="IdentityStore"/> of the data directory (so the
/// gateway can authenticate against <see cref="Store"/> from the first connection), gives the embedded
/// broker its TLS settings when <see cref="EmbeddedBrokerOptions.TlsPort"/> is set (server certificate and
/// a client validator that trusts our CA only; the CA's private key is not loaded), watches the store for
/// the CLI's changes, and keeps the engine's <see cref="TrustStore"/> in step (revoked keys out, renewed keys in).
/// Add it before the security gateway: <c>engine.AddService(identity)</c>.
/// </summary>
internal sealed class IdentityService : IEngineService, IBrokerExtension
{
    private readonly string _dataDirectory;
    private readonly TimeSpan _pollInterval;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private IdentityTrustSync? _sync;
    private int _disposed;

    public IdentityService(AliciaEngineOptions options, TimeSpan? pollInterval = null, ILoggerFactory? loggerFactory = null, TimeProvider? clock = null)
    {
        _dataDirectory = options.DataDirectory;
        _pollInterval = pollInterval ?? TimeSpan.FromSeconds(1);
        _clock = clock ?? TimeProvider.System;
        ILoggerFactory factory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = factory.CreateLogger<IdentityService>();
        Store = IdentityStore.Open(_dataDirectory, _clock, factory.CreateLogger<IdentityStore>());
    }

    public string Name => "identity";

    /// <summary>The provisioned identities (an <see cref="Gateway.IIdentityDirectory"/> for the gateway).</summary>
    public IdentityStore Store { get; }

    public void ConfigureBroker(EmbeddedBroker broker, AliciaEngine engine)
    {
        if (engine.Options.Broker.TlsPort <= 0 || broker.Tls is not null) return;
        broker.Tls = CertificateAuthority.LoadBrokerTlsSettings(_dataDirectory, _clock);
        _logger.LogInformation("TLS 1.3 listener on port {Port} requires client certificates from the CA in {Directory}",
            engine.Options.Broker.TlsPort, CertificateAuthority.DirectoryFor(_dataDirectory));
    }

    public Task StartAsync(AliciaEngine engine, CancellationToken cancellationToken)
    {
        _sync = new IdentityTrustSync(Store, engine.Trust);
        // A key revoked while the engine was down may still be cached from the key directory's .pub files.
        foreach (IdentityEntry e in Store.List())
        {
            if (e.Status == IdentityStatus.Revoked) engine.Trust.Revoke(e.Id);
        }
        Store.StartWatching(_pollInterval);
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return ValueTask.CompletedTask;
        _sync?.Dispose();
        Store.Dispose();
        return ValueTask.CompletedTask;
    }
}
