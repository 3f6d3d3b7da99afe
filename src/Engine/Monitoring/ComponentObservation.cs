using Alicia.Contracts.Messages;

namespace Alicia.Engine.Monitoring;

/// <summary>What was last heard from one component: its heartbeat and when it arrived (by the engine's clock, not the sender's).</summary>
internal sealed record ComponentObservation(string Name, string Kind, ServiceHealth Health, DateTimeOffset ReceivedAt, string Location = "", bool? KnownOffline = null);
