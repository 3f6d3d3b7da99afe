namespace Alicia.Contracts;

/// <summary>
/// Receives a message whose topic the generated dispatcher matched to a message type. A struct visitor
/// is called without boxing, so dispatch costs no allocation.
/// </summary>
public interface IMessageVisitor
{
    void Visit<T>(ReadOnlySpan<byte> topic, ReadOnlySpan<byte> payload) where T : IAliciaMessage<T>;
}
