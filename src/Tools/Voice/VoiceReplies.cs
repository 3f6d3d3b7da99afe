using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Alicia.Voice.Speech.Output;
using Alicia.Voice.Transport;

namespace Alicia.Tools.Voice;

/// <summary>One spoken reply as the satellite received it on its audio connection.</summary>
internal sealed class SpokenReply
{
    public string ReplyId { get; init; } = "";
    public int SampleRate { get; init; }
    public int Channels { get; init; } = 1;
    public MemoryStream Pcm { get; } = new();
    public int Chunks { get; set; }

    /// <summary>Null while the reply is still coming.</summary>
    public ReplyEndStatus? Status { get; set; }
    public string Text { get; set; } = "";

    /// <summary><see cref="Stopwatch"/> ticks of the first audio chunk (0: none).</summary>
    public long FirstAudioTicks { get; set; }

    public double DurationSeconds => SampleRate == 0 ? 0 : Pcm.Length / (2.0 * Channels * SampleRate);
}

/// <summary>
/// The reply frames a satellite receives (full duplex, after its <c>listen</c> frame): <c>reply-start</c> with the
/// format, <c>reply-audio</c> chunks, <c>reply-end</c> with the status and text. Thread-safe: the connection's reader
/// adds, the caller waits.
/// </summary>
internal sealed class VoiceReplies
{
    private readonly List<SpokenReply> _replies = [];
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _changed = new(0);
    private SpokenReply? _current;

    /// <summary>Called with each audio chunk as it arrives (to play it, or to send "stop" mid-reply).</summary>
    public Action<SpokenReply, ReadOnlyMemory<byte>>? OnAudio { get; init; }

    public IReadOnlyList<SpokenReply> All
    {
        get { lock (_gate) return [.. _replies]; }
    }

    /// <summary>The engine closed the connection.</summary>
    public bool Closed { get; private set; }

    /// <summary>Takes an engine frame; false when it is not a reply frame.</summary>
    public bool Accept(AudioFrameType type, byte[] payload)
    {
        SpokenReply? audioOf = null;
        lock (_gate)
        {
            switch (type)
            {
                case AudioFrameType.ReplyStart:
                    if (payload.Length < 6) throw new InvalidDataException($"reply-start frame of {payload.Length} bytes");
                    _current = new SpokenReply
                    {
                        SampleRate = (int)BinaryPrimitives.ReadUInt32LittleEndian(payload), Channels = payload[4],
                        ReplyId = Encoding.UTF8.GetString(payload.AsSpan(6)),
                    };
                    _replies.Add(_current);
                    break;
                case AudioFrameType.ReplyAudio:
                    if (_current is null) throw new InvalidDataException("reply audio before reply-start");
                    _current.Pcm.Write(payload);
                    _current.Chunks++;
                    if (_current.FirstAudioTicks == 0) _current.FirstAudioTicks = Stopwatch.GetTimestamp();
                    audioOf = _current;
                    break;
                case AudioFrameType.ReplyEnd:
                    // A reply no voice could say ends without a start: it still brings its text.
                    SpokenReply ended = _current ?? new SpokenReply();
                    if (_current is null) _replies.Add(ended);
                    ended.Status = payload.Length > 0 ? (ReplyEndStatus)payload[0] : ReplyEndStatus.Spoken;
                    ended.Text = payload.Length > 1 ? Encoding.UTF8.GetString(payload.AsSpan(1)) : "";
                    _current = null;
                    break;
                default:
                    return false;
            }
        }
        if (audioOf is not null) OnAudio?.Invoke(audioOf, payload);
        _changed.Release();
        return true;
    }

    public void MarkClosed()
    {
        Closed = true;
        _changed.Release();
    }

    /// <summary>Waits until <paramref name="count"/> replies have ended, or the engine closed the connection; false on timeout.</summary>
    public async Task<bool> WaitForEndsAsync(int count, CancellationToken ct)
    {
        while (true)
        {
            lock (_gate)
                if (_replies.Count(r => r.Status is not null) >= count) return true;
            if (Closed) return false;
            try { await _changed.WaitAsync(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { return false; }
        }
    }
}
