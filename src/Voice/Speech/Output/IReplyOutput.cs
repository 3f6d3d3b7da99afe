namespace Alicia.Voice.Speech.Output;

/// <summary>How a spoken reply ended (the <c>ReplyEnd</c> frame's first byte).</summary>
internal enum ReplyEndStatus : byte
{
    /// <summary>Every piece was spoken.</summary>
    Spoken = 0,

    /// <summary>Stopped early: "stop", a wake word or a button in the room (barge-in).</summary>
    Stopped = 1,

    /// <summary>No voice could speak it: the end carries the reply's text, for the satellite to show or log.</summary>
    Failed = 2,
}

/// <summary>Where one reply's audio goes: the satellite's own audio connection, or a speaker in its room.</summary>
internal interface IReplyOutput
{
    /// <summary>For logs: <c>connection of kitchen-sat</c>, <c>sonos 192.168.1.20</c> ...</summary>
    string Description { get; }

    /// <summary>Whether it can still take a reply (the connection is open, the speaker answered).</summary>
    bool IsAvailable { get; }

    /// <summary>Audio sent this far ahead of real time at most, so a stop is heard within about one chunk (zero: send at once).</summary>
    TimeSpan Lead { get; }

    /// <summary>
    /// The output as one reply uses it: most outputs are their own; a speaker that plays one reply at a time (Sonos)
    /// hands each reply its own turn, which waits for the previous reply to finish.
    /// </summary>
    IReplyOutput ForReply(string replyId) => this;

    ValueTask BeginAsync(string replyId, SpeechFormat format, CancellationToken cancellationToken);

    ValueTask WriteAsync(ReadOnlyMemory<byte> pcm, CancellationToken cancellationToken);

    /// <summary>Ends the reply; <paramref name="text"/> is what was to be said (so a failure still reaches the user as text).</summary>
    ValueTask EndAsync(ReplyEndStatus status, string text, CancellationToken cancellationToken);

    /// <summary>
    /// Cuts off what the output still plays of replies that have ended (a speaker playing a whole clip on its own long
    /// after synthesis finished); true when something was playing. A stop in the room calls it.
    /// </summary>
    bool StopPlaying() => false;
}
