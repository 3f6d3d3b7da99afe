using Alicia.Engine;
using Alicia.Engine.Hosting;
using Alicia.Engine.Integration.HomeAssistant;
using Alicia.Engine.Registry;
using Alicia.Engine.Security.Audit;
using Alicia.Engine.Security.Gateway;
using Alicia.Engine.Security.Identity;
using Alicia.Engine.Voice;
using Alicia.Engine.Voice.Vad;
using Microsoft.Extensions.Logging;
using System.Security.Cryptography.X509Certificates;

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
        SecurityGateway? gateway = null;
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
            // Provisioned identities, plus the local tools (alicia-cli, alicia-simulator) with their
            // password files in the data directory.
            IIdentityDirectory directory = identity is null
                ? LocalTools.Directory(options.DataDirectory)
                : new IdentityDirectories(LocalTools.Directory(options.DataDirectory), identity.Store);
            gateway = new SecurityGateway(options.Gateway, directory, audit);
            engine.AddService(gateway);
        }
        var registry = new RegistryService(options.Registry);
        engine.AddService(registry);
        if (gateway is not null) LinkRegistry(gateway, registry);
        engine.AddService(new HomeAssistantBridge(registry));
        AddVoice(engine, options.Voice);
    }

    /// <summary>What a device registered decides part of what the gateway allows it: its capability constraint rate_limit and the input topics its capabilities name.</summary>
    private static void LinkRegistry(SecurityGateway gateway, RegistryService registry)
    {
        gateway.RateLimitOf = id =>
            registry.Registry.Get(id)?.Registration.Capabilities.Constraints?.RateLimit is { Length: > 0 } text && RateLimit.TryParse(text, out RateLimit limit) ? limit : null;
        gateway.CapabilityTopicsOf = id =>
            registry.Registry.Get(id)?.Registration.Capabilities.Capabilities.SelectMany(c => c.Endpoints.Input).Where(t => !string.IsNullOrEmpty(t)).ToArray() ?? [];
    }

    private static void AddVoice(AliciaEngine engine, VoiceSettings voice)
    {
        ILogger logger = engine.LoggerFactory.CreateLogger<EngineServices>();
        if (!voice.Enabled) return;
        string? vad = string.IsNullOrWhiteSpace(voice.VadModelPath) ? SileroVadModel.FindDefault() : voice.VadModelPath;
        if (vad is null || !File.Exists(vad))
        {
            logger.LogWarning("Voice pipeline off: the Silero VAD model is missing (run scripts/fetch-models.sh, or set Voice:VadModelPath)");
            return;
        }
        engine.AddService(new VoiceService(new VoiceOptions
        {
            VadModelPath = vad,
            WhisperModelPath = string.IsNullOrWhiteSpace(voice.WhisperModelPath) ? null : voice.WhisperModelPath,
            ExtraWhisperModelPaths = voice.ExtraWhisperModelPaths,
            WhisperConcurrency = voice.WhisperConcurrency > 0 ? voice.WhisperConcurrency : null,
            WhisperThreads = voice.WhisperThreads > 0 ? voice.WhisperThreads : null,
            Endpointing = new EndpointerOptions
            {
                Hangover = TimeSpan.FromMilliseconds(voice.HangoverMs),
                SpeculateAfter = voice.SpeculateAfterMs < 0 ? null : TimeSpan.FromMilliseconds(voice.SpeculateAfterMs),
            },
            ListenAddress = voice.ListenAddress,
            AudioPort = voice.AudioPort,
            AdvertisedHost = string.IsNullOrWhiteSpace(voice.AdvertisedHost) ? null : voice.AdvertisedHost,
            RequireTls = voice.RequireTls,
            // Its own certificate when configured (an external broker lends none); else the embedded broker's, taken at start.
            TlsCertificate = voice.TlsCertificatePath.Length > 0 ? X509Certificate2.CreateFromPemFile(voice.TlsCertificatePath, voice.TlsKeyPath) : null,
        }));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (IAsyncDisposable owned in _owned) await owned.DisposeAsync().ConfigureAwait(false);
    }
}
