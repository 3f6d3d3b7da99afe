namespace Alicia.Contracts.Serialization;

/// <summary>Malformed or unexpected MessagePack input. The message names what was wrong and where.</summary>
public sealed class MsgPackException(string message) : FormatException(message)
{
    internal static MsgPackException Truncated(int position) =>
        new($"truncated input at byte {position}");

    internal static MsgPackException Unexpected(byte code, string expected, int position) =>
        new($"expected {expected} but found 0x{code:x2} at byte {position}");
}
