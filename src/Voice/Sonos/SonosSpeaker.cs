using Alicia.Voice.Audio;
using Alicia.Voice.Speakers;
using Alicia.Voice.Speech;
using Alicia.Voice.Speech.Output;
using Microsoft.Extensions.Logging;

namespace Alicia.Voice.Sonos;

/// <summary>
/// A Sonos player as a reply output. Sonos plays URLs, so the reply is collected, served as a WAV by
/// <see cref="AudioClipServer"/>, and played with SetAVTransportURI + Play (at the announcement volume when set); what
/// was playing (URI, metadata, transport state, volume) is saved when the reply begins and put back after the clip has
/// played. A player that does not answer when the reply begins is offline: the reply goes elsewhere.
/// </summary>
internal sealed class SonosSpeaker(SonosClient client, AudioClipServer clips, int announceVolume, TimeProvider clock, ILogger logger) : IReplyOutput, IDucksMedia
{
    private readonly SemaphoreSlim _duckGate = new(1, 1);
    private int _duckedFrom = -1;
    private readonly MemoryStream _pcm = new();
    private SonosState? _saved;
    private SpeechFormat _format;
    private volatile bool _online = true;

    public string Description => $"sonos {client.BaseAddress.Authority}";

    public bool IsAvailable => _online;

    public TimeSpan Lead => TimeSpan.Zero;

    /// <summary>Completes when the last clip has played and the previous state is back (tests and logs).</summary>
    public Task Restored { get; private set; } = Task.CompletedTask;

    public async ValueTask BeginAsync(string replyId, SpeechFormat format, CancellationToken cancellationToken)
    {
        try
        {
            _saved = await client.GetStateAsync(cancellationToken).ConfigureAwait(false);
            _online = true;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException or System.Xml.XmlException)
        {
            _online = false;
            throw new IOException($"{Description} is offline: {e.Message}", e);
        }
        _format = format;
        _pcm.SetLength(0);
    }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> pcm, CancellationToken cancellationToken)
    {
        _pcm.Write(pcm.Span);
        return default;
    }

    public async ValueTask EndAsync(ReplyEndStatus status, string text, CancellationToken cancellationToken)
    {
        if (_pcm.Length == 0 || _saved is null) return; // stopped before any audio, or failed: nothing to play
        Uri url = clips.Publish(WavFile.Build(_pcm.ToArray(), _format.SampleRate, _format.Channels));
        TimeSpan duration = TimeSpan.FromSeconds(_pcm.Length / (double)_format.BytesPerSecond);
        SonosState saved = _saved;
        try
        {
            if (announceVolume > 0) await client.SetVolumeAsync(announceVolume, cancellationToken).ConfigureAwait(false);
            await client.SetUriAsync(url.AbsoluteUri, "", cancellationToken).ConfigureAwait(false);
            await client.PlayAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
        {
            _online = false;
            logger.LogWarning("Speech: {Speaker} failed to play the reply: {Reason}", Description, e.Message);
            throw new IOException($"{Description}: {e.Message}", e);
        }
        Restored = RestoreAfterAsync(saved, duration);
    }

    /// <summary>Lowers the volume to <paramref name="volume"/> (never raises it), remembering what it was.</summary>
    public async Task DuckAsync(int volume)
    {
        await _duckGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_duckedFrom >= 0) return;
            int current = await client.GetVolumeAsync(CancellationToken.None).ConfigureAwait(false);
            if (current <= volume) return;
            await client.SetVolumeAsync(volume, CancellationToken.None).ConfigureAwait(false);
            _duckedFrom = current;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException or System.Xml.XmlException)
        {
            logger.LogWarning("Speech: {Speaker}: ducking failed: {Reason}", Description, e.Message);
        }
        finally
        {
            _duckGate.Release();
        }
    }

    /// <summary>Puts back the volume <see cref="DuckAsync"/> lowered (nothing when it did not).</summary>
    public async Task RestoreDuckAsync()
    {
        await _duckGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_duckedFrom < 0) return;
            int volume = _duckedFrom;
            _duckedFrom = -1;
            await client.SetVolumeAsync(volume, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
        {
            logger.LogWarning("Speech: {Speaker}: restoring the volume after ducking failed: {Reason}", Description, e.Message);
        }
        finally
        {
            _duckGate.Release();
        }
    }

    /// <summary>After the clip (plus a margin for the player to fetch it), what was playing comes back.</summary>
    private async Task RestoreAfterAsync(SonosState saved, TimeSpan duration)
    {
        try
        {
            await Task.Delay(duration + TimeSpan.FromMilliseconds(500), clock).ConfigureAwait(false);
            if (saved.Uri.Length > 0) await client.SetUriAsync(saved.Uri, saved.Metadata, CancellationToken.None).ConfigureAwait(false);
            if (saved.Volume >= 0 && announceVolume > 0) await client.SetVolumeAsync(saved.Volume, CancellationToken.None).ConfigureAwait(false);
            if (saved.WasPlaying && saved.Uri.Length > 0) await client.PlayAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
        {
            logger.LogWarning("Speech: {Speaker}: restoring what was playing failed: {Reason}", Description, e.Message);
        }
    }
}
