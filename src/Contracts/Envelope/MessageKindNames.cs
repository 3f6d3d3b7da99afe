using Alicia.Contracts.Serialization;

namespace Alicia.Contracts;

/// <summary>The wire names of <see cref="MessageKind"/>.</summary>
internal static class MessageKindNames
{
    public static ReadOnlySpan<byte> ToUtf8(MessageKind kind) => kind switch
    {
        MessageKind.Request => "request"u8,
        MessageKind.Response => "response"u8,
        MessageKind.Event => "event"u8,
        MessageKind.Command => "command"u8,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static string ToName(MessageKind kind) => kind switch
    {
        MessageKind.Request => "request",
        MessageKind.Response => "response",
        MessageKind.Event => "event",
        MessageKind.Command => "command",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static MessageKind Parse(ReadOnlySpan<byte> utf8)
    {
        if (utf8.SequenceEqual("request"u8)) return MessageKind.Request;
        if (utf8.SequenceEqual("response"u8)) return MessageKind.Response;
        if (utf8.SequenceEqual("event"u8)) return MessageKind.Event;
        if (utf8.SequenceEqual("command"u8)) return MessageKind.Command;
        throw new MsgPackException($"unknown message_type '{System.Text.Encoding.UTF8.GetString(utf8)}' (request | response | event | command)");
    }

    public static MessageKind Parse(string name) => Parse(System.Text.Encoding.UTF8.GetBytes(name));
}
