using Alicia.Engine.Bus;
using Alicia.Engine.Security;

namespace Alicia.Engine.Hosting;

/// <summary>Everything the engine needs to start. Bound from configuration by the host.</summary>
public sealed class AliciaEngineOptions
{
    /// <summary>The engine's own identity (its signing key name and the <c>source</c> of its messages).</summary>
    public string Name { get; set; } = "alicia-engine";

    /// <summary>Where Ed25519 keys live; the public keys in it are trusted.</summary>
    public string KeyDirectory { get; set; } = ".alicia/keys";

    /// <summary>Where engine services keep their state (the registry's SQLite database, the audit log).</summary>
    public string DataDirectory { get; set; } = ".alicia/data";

    /// <summary>
    /// An external MQTT 5 broker (<c>mqtt://host:port</c>, <c>mqtts://host:port</c>); empty runs the embedded broker.
    /// </summary>
    public string? BrokerUrl { get; set; }

    public EmbeddedBrokerOptions Broker { get; set; } = new();

    public VerifierOptions Security { get; set; } = new();

    /// <summary>The device registry: discovery, liveness, capability routing.</summary>
    public Registry.RegistryOptions Registry { get; set; } = new();

    /// <summary>The security gateway of the embedded broker.</summary>
    public Security.Gateway.GatewayOptions Gateway { get; set; } = new();

    public BusOptions Bus { get; set; } = new();

    /// <summary>How often the engine publishes its own heartbeat.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How many engine service instances share API requests (a share group).</summary>
    public string ApiShareGroup { get; set; } = "alicia-api";

    /// <summary>
    /// True: services that load heavy state (<see cref="IEngineService.StartsInBackground"/>: voice models, ONNX Runtime,
    /// whisper.cpp) start after the others, in the background, so the broker and the core services are ready without
    /// waiting for them; <see cref="AliciaEngine.Ready"/> completes once they have. <c>alicia run</c> sets it.
    /// </summary>
    public bool BackgroundStart { get; set; }
}
