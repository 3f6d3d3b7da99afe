namespace Alicia.Contracts;

/// <summary>The envelope's <c>message_type</c>.</summary>
public enum MessageKind : byte
{
    Request,
    Response,
    Event,
    Command,
}
