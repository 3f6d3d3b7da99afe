using System.Buffers.Binary;
using Alicia.Voice.Speech;

namespace Alicia.Voice.Sonos;

/// <summary>
/// A reply's audio as it is being synthesised: PCM appended by the speaker, read by any number of HTTP fetches from the
/// start, each waiting for more until <see cref="Complete"/>. So a speaker can start fetching (and playing) the first
/// sentence while the last is still being synthesised.
/// </summary>
internal sealed class StreamingClip(SpeechFormat format)
{
    private readonly Lock _gate = new();
    private byte[] _pcm = new byte[64 * 1024];
    private int _length;
    private bool _complete;
    private TaskCompletionSource _grown = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public SpeechFormat Format => format;

    public bool IsComplete
    {
        get { lock (_gate) return _complete; }
    }

    public int Length
    {
        get { lock (_gate) return _length; }
    }

    public void Append(ReadOnlySpan<byte> pcm)
    {
        TaskCompletionSource grown;
        lock (_gate)
        {
            if (_complete) throw new InvalidOperationException("the clip is complete");
            if (_length + pcm.Length > _pcm.Length) Array.Resize(ref _pcm, Math.Max(_pcm.Length * 2, _length + pcm.Length));
            pcm.CopyTo(_pcm.AsSpan(_length));
            _length += pcm.Length;
            grown = _grown;
            _grown = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        grown.TrySetResult();
    }

    /// <summary>No more audio: fetches end after what they have.</summary>
    public void Complete()
    {
        TaskCompletionSource grown;
        lock (_gate)
        {
            if (_complete) return;
            _complete = true;
            grown = _grown;
        }
        grown.TrySetResult();
    }

    /// <summary>Copies PCM from <paramref name="offset"/>, waiting for more while the clip grows; 0 at its end.</summary>
    public async ValueTask<int> ReadAsync(int offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task grown;
            lock (_gate)
            {
                int available = _length - offset;
                if (available > 0)
                {
                    int n = Math.Min(available, buffer.Length);
                    _pcm.AsSpan(offset, n).CopyTo(buffer.Span);
                    return n;
                }
                if (_complete) return 0;
                grown = _grown.Task;
            }
            await grown.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The WAV header: exact sizes for <paramref name="dataLength"/>, or "unknown" (0xFFFFFFFF, as streaming writers do) when null.</summary>
    public byte[] Header(int? dataLength)
    {
        var h = new byte[44];
        "RIFF"u8.CopyTo(h);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(4), dataLength is { } n ? (uint)(36 + n) : uint.MaxValue);
        "WAVEfmt "u8.CopyTo(h.AsSpan(8));
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(16), 16);
        BinaryPrimitives.WriteInt16LittleEndian(h.AsSpan(20), 1);
        BinaryPrimitives.WriteInt16LittleEndian(h.AsSpan(22), (short)format.Channels);
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(24), format.SampleRate);
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(28), format.BytesPerSecond);
        BinaryPrimitives.WriteInt16LittleEndian(h.AsSpan(32), (short)(format.Channels * 2));
        BinaryPrimitives.WriteInt16LittleEndian(h.AsSpan(34), 16);
        "data"u8.CopyTo(h.AsSpan(36));
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(40), dataLength is { } d ? (uint)d : uint.MaxValue);
        return h;
    }
}
