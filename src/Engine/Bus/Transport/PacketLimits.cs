namespace Alicia.Engine.Bus.Transport;

/// <summary>The largest packet (fixed header included) a network client may send before and after its CONNECT is accepted.</summary>
internal sealed record PacketLimits(long BeforeConnect, long AfterConnect);
