namespace Alicia.Tools.Audio;

/// <summary>The sound device cannot be used: ALSA is missing, or the named PCM device does not open.</summary>
internal sealed class SoundDeviceUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// One ALSA PCM device open for playback of interleaved s16le at one rate and channel count. <see cref="Write"/> blocks
/// while the device's buffer is full (call it off the thread that reads the network); <see cref="Drain"/> waits until
/// every frame has been played. Not thread-safe: one writer.
/// </summary>
internal sealed unsafe class AlsaPlayback : IDisposable
{
    private static readonly Lazy<string?> Missing = new(LoadLibrary);
    private nint _pcm;

    private AlsaPlayback(nint pcm, string device, int sampleRate, int channels)
    {
        _pcm = pcm;
        Device = device;
        SampleRate = sampleRate;
        Channels = channels;
    }

    public string Device { get; }
    public int SampleRate { get; }
    public int Channels { get; }

    /// <summary>Bytes handed to the device.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Opens <paramref name="device"/> (an ALSA PCM name: <c>default</c>, <c>null</c>, <c>hw:0,0</c> ...) at this format.</summary>
    /// <exception cref="SoundDeviceUnavailableException">ALSA is not installed, or the device does not open or take the format.</exception>
    public static AlsaPlayback Open(string device, int sampleRate, int channels)
    {
        if (Missing.Value is { } missing) throw new SoundDeviceUnavailableException(missing);
        int result = AlsaNative.Open(out nint pcm, device, AlsaNative.StreamPlayback, 0);
        if (result < 0) throw new SoundDeviceUnavailableException($"ALSA could not open the sound device '{device}': {AlsaNative.Describe(result)}");
        // Resampling by ALSA when the device cannot take the rate; 100 ms of latency, so a stop is heard soon.
        result = AlsaNative.SetParams(pcm, AlsaNative.FormatS16Le, AlsaNative.AccessRwInterleaved, (uint)channels, (uint)sampleRate, 1, 100_000);
        if (result < 0)
        {
            AlsaNative.Close(pcm);
            throw new SoundDeviceUnavailableException($"the sound device '{device}' does not take {sampleRate} Hz, {channels} channel(s) s16le: {AlsaNative.Describe(result)}");
        }
        return new AlsaPlayback(pcm, device, sampleRate, channels);
    }

    /// <summary>Null when <paramref name="device"/> opens for playback, else why not (said to the user as it is).</summary>
    public static string? Probe(string device)
    {
        try
        {
            using AlsaPlayback playback = Open(device, 22050, 1);
            return null;
        }
        catch (SoundDeviceUnavailableException e)
        {
            return e.Message;
        }
    }

    /// <summary>Plays whole frames of <paramref name="pcm"/> (blocks while the device's buffer is full); an underrun is recovered.</summary>
    public void Write(ReadOnlySpan<byte> pcm)
    {
        ObjectDisposedException.ThrowIf(_pcm == 0, this);
        int frameBytes = 2 * Channels;
        int frames = pcm.Length / frameBytes;
        fixed (byte* start = pcm)
        {
            int done = 0;
            while (done < frames)
            {
                nint n = AlsaNative.WriteInterleaved(_pcm, start + (long)done * frameBytes, (nuint)(frames - done));
                if (n < 0)
                {
                    // An underrun (-EPIPE) or a suspend (-ESTRPIPE) is recovered; anything else is the device gone.
                    int recovered = AlsaNative.Recover(_pcm, (int)n, 1);
                    if (recovered < 0) throw new IOException($"the sound device '{Device}' failed: {AlsaNative.Describe((int)n)}");
                    continue;
                }
                done += (int)n;
            }
        }
        BytesWritten += (long)frames * frameBytes;
    }

    /// <summary>Waits until everything written has been played.</summary>
    public void Drain()
    {
        ObjectDisposedException.ThrowIf(_pcm == 0, this);
        AlsaNative.Drain(_pcm);
    }

    public void Dispose()
    {
        nint pcm = Interlocked.Exchange(ref _pcm, 0);
        if (pcm != 0) AlsaNative.Close(pcm);
    }

    /// <summary>Null when libasound loads, else a sentence for the user.</summary>
    private static string? LoadLibrary()
    {
        try
        {
            AlsaNative.QuietErrors();
            return null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return $"no sound device: ALSA's {AlsaNative.Library} is not installed (Debian: apt-get install libasound2)";
        }
    }
}
