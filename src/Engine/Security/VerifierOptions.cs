namespace Alicia.Engine.Security;

public sealed class VerifierOptions
{
    /// <summary>How far a message's timestamp may be from the receiver's clock (either way).</summary>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Messages larger than this are refused before they are parsed.</summary>
    public int MaxMessageBytes { get; set; } = 256 * 1024;

    /// <summary>How many message ids the replay filter holds (ids are remembered for twice <see cref="MaxClockSkew"/>).</summary>
    public int ReplayCapacity { get; set; } = 1 << 18;

    /// <summary>Gateways whose countersignature (<c>attested_by</c>) is accepted for devices that cannot sign.</summary>
    public List<string> TrustedAttesters { get; set; } = [];

    /// <summary>A copy that also trusts <paramref name="attester"/>'s countersignatures.</summary>
    internal VerifierOptions WithAttester(string attester) => new()
    {
        MaxClockSkew = MaxClockSkew,
        MaxMessageBytes = MaxMessageBytes,
        ReplayCapacity = ReplayCapacity,
        TrustedAttesters = TrustedAttesters.Contains(attester) ? [.. TrustedAttesters] : [.. TrustedAttesters, attester],
    };
}
