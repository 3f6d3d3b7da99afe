using Alicia.Engine.Hosting;
using Alicia.Engine.Integration.HomeAssistant;
using Alicia.Engine.Registry;
using Alicia.Engine.Security.Audit;
using Alicia.Engine.Security.Gateway;
using Alicia.Engine.Security.Identity;

namespace Alicia.Host;

/// <summary>
/// The services `alicia run` adds to the engine, in start order, and what they own beyond the engine's
/// lifetime (the audit log is closed after the engine stops, so the last decisions reach the disk).
/// </summary>
internal sealed class EngineServices : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];

    public void AddDefaults(AliciaEngine engine, AliciaEngineOptions options)
    {
        bool embedded = string.IsNullOrWhiteSpace(options.BrokerUrl);
        IdentityService? identity = null;
        if (options.Broker.TlsPort > 0 || CertificateAuthority.Exists(options.DataDirectory))
        {
            // Provisioned identities: the TLS listener's certificates, and the trust store kept in step
            // with provisioning, renewal and revocation (also with an external broker).
            identity = new IdentityService(options, loggerFactory: engine.LoggerFactory);
            engine.AddService(identity);
        }
        if (embedded && options.Gateway.Enabled)
        {
            var audit = new AuditLog(Path.Combine(options.DataDirectory, "audit.db"));
            _owned.Add(audit);
            engine.AddService(new SecurityGateway(options.Gateway, identity?.Store, audit));
        }
        var registry = new RegistryService(options.Registry);
        engine.AddService(registry);
        engine.AddService(new HomeAssistantBridge(registry));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (IAsyncDisposable owned in _owned) await owned.DisposeAsync().ConfigureAwait(false);
    }
}
