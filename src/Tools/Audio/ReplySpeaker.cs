using System.Collections.Concurrent;
using Alicia.Tools.Voice;

namespace Alicia.Tools.Audio;

/// <summary>
/// Plays the reply audio a satellite receives on its connection through an ALSA device as the chunks arrive (hook
/// <see cref="Enqueue"/> to <see cref="VoiceReplies.OnAudio"/>). A thread of its own writes to the device, so the
/// connection's reader never waits for the sound card; a reply at another format reopens the device.
/// </summary>
internal sealed class ReplySpeaker : IDisposable
{
    private readonly BlockingCollection<(SpokenReply Reply, byte[] Pcm)> _chunks = new(boundedCapacity: 4096);
    private readonly string _device;
    private readonly Thread _thread;
    private AlsaPlayback? _playback;

    public ReplySpeaker(string device)
    {
        _device = device;
        _thread = new Thread(Run) { IsBackground = true, Name = "alicia reply playback" };
        _thread.Start();
    }

    /// <summary>Bytes played (handed to the device).</summary>
    public long BytesPlayed { get; private set; }

    /// <summary>Replies whose audio reached the device.</summary>
    public int RepliesPlayed { get; private set; }

    /// <summary>Why playback stopped early (the device failed), else null.</summary>
    public string? Error { get; private set; }

    public void Enqueue(SpokenReply reply, ReadOnlyMemory<byte> pcm)
    {
        try { _chunks.TryAdd((reply, pcm.ToArray()), Timeout.Infinite); }
        catch (InvalidOperationException) { } // finished: a late chunk is not played
    }

    /// <summary>No more audio: waits (up to <paramref name="timeout"/>) until everything queued has been played.</summary>
    public bool Finish(TimeSpan timeout)
    {
        _chunks.CompleteAdding();
        return _thread.Join(timeout);
    }

    private void Run()
    {
        SpokenReply? current = null;
        try
        {
            foreach ((SpokenReply reply, byte[] pcm) in _chunks.GetConsumingEnumerable())
            {
                if (Error is not null) continue; // drop the rest: the device failed
                if (_playback is null || _playback.SampleRate != reply.SampleRate || _playback.Channels != reply.Channels)
                {
                    _playback?.Drain();
                    _playback?.Dispose();
                    _playback = AlsaPlayback.Open(_device, reply.SampleRate, reply.Channels);
                }
                if (!ReferenceEquals(reply, current))
                {
                    current = reply;
                    RepliesPlayed++;
                }
                _playback.Write(pcm);
                BytesPlayed += pcm.Length;
            }
            _playback?.Drain();
        }
        catch (Exception e) when (e is SoundDeviceUnavailableException or IOException)
        {
            Error = e.Message;
            foreach (var _ in _chunks.GetConsumingEnumerable()) { } // let Finish end
        }
        finally
        {
            _playback?.Dispose();
        }
    }

    public void Dispose()
    {
        _chunks.CompleteAdding();
        // A device still blocking past this keeps the queue: the process is ending, and its thread must not fault.
        if (_thread.Join(TimeSpan.FromSeconds(5))) _chunks.Dispose();
    }
}
