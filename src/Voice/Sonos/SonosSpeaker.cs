using Alicia.Voice.Speakers;
using Alicia.Voice.Speech;
using Alicia.Voice.Speech.Output;
using Microsoft.Extensions.Logging;

namespace Alicia.Voice.Sonos;

/// <summary>
/// A Sonos player as a reply output. Sonos plays URLs, so each reply is served by <see cref="AudioClipServer"/> as it is
/// synthesised: SetAVTransportURI + Play (at the announcement volume when set) go out with the first audio, and the
/// player fetches the rest while it plays. What was playing (URI, metadata, transport state, volume) is saved when the
/// reply begins and put back once the reply has played (at once when it was stopped). One reply at a time: another
/// waits for its turn (<see cref="ForReply"/>) until the previous one has played and what it interrupted is back. A
/// player that does not answer is offline for <see cref="OfflineRetry"/>: replies go elsewhere meanwhile.
/// </summary>
internal sealed class SonosSpeaker(SonosClient client, AudioClipServer clips, int announceVolume, TimeProvider clock, ILogger logger) : IReplyOutput, IDucksMedia
{
    /// <summary>After a failed call, how long the player is left out before it is tried again.</summary>
    public static readonly TimeSpan OfflineRetry = TimeSpan.FromSeconds(30);

    /// <summary>What is left for the player to fetch and start, after the clip's own length, before the old state comes back.</summary>
    public static readonly TimeSpan PlayMargin = TimeSpan.FromMilliseconds(500);

    private readonly SonosClient _client = client;
    private readonly AudioClipServer _clips = clips;
    private readonly int _announceVolume = announceVolume;
    private readonly TimeProvider _clock = clock;
    private readonly ILogger _logger = logger;
    private readonly SemaphoreSlim _duckGate = new(1, 1);
    private readonly SemaphoreSlim _turn = new(1, 1);
    private int _duckedFrom = -1;
    private long _offlineUntil;
    private SonosReply? _direct;
    private CancellationTokenSource? _playOut; // the wait for a finished reply's clip to play out; a stop cancels it

    public string Description => $"sonos {_client.BaseAddress.Authority}";

    public bool IsAvailable => _clock.GetTimestamp() >= Volatile.Read(ref _offlineUntil);

    public TimeSpan Lead => TimeSpan.Zero;

    /// <summary>Completes when the last reply has played and the previous state is back (tests and logs).</summary>
    public Task Restored { get; private set; } = Task.CompletedTask;

    /// <summary>Each reply gets its own turn on the player (the playback engine asks for it per reply).</summary>
    public IReplyOutput ForReply(string replyId) => new SonosReply(this, replyId);

    // Used directly (not through ForReply): one reply after another on a turn of its own.
    public ValueTask BeginAsync(string replyId, SpeechFormat format, CancellationToken cancellationToken)
    {
        _direct = new SonosReply(this, replyId);
        return _direct.BeginAsync(replyId, format, cancellationToken);
    }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> pcm, CancellationToken cancellationToken) =>
        _direct?.WriteAsync(pcm, cancellationToken) ?? throw new InvalidOperationException("no reply begun");

    public ValueTask EndAsync(ReplyEndStatus status, string text, CancellationToken cancellationToken) =>
        _direct?.EndAsync(status, text, cancellationToken) ?? default;

    public bool StopPlaying()
    {
        CancellationTokenSource? playOut = Interlocked.Exchange(ref _playOut, null);
        if (playOut is null) return false;
        try { playOut.Cancel(); } catch (ObjectDisposedException) { return false; }
        return true;
    }

    private void MarkOffline() => Volatile.Write(ref _offlineUntil, _clock.GetTimestamp() + (long)(OfflineRetry.TotalSeconds * _clock.TimestampFrequency));

    private static bool IsUnreachable(Exception e) => e is HttpRequestException or IOException or TaskCanceledException or System.Xml.XmlException;

    /// <summary>One reply's turn on the player: its clip, the state it interrupted, when it started playing.</summary>
    private sealed class SonosReply(SonosSpeaker speaker, string replyId) : IReplyOutput
    {
        private SonosState? _saved;
        private StreamingClip? _clip;
        private long _playStarted;

        public string Description => speaker.Description;
        public bool IsAvailable => speaker.IsAvailable;
        public TimeSpan Lead => TimeSpan.Zero;

        public async ValueTask BeginAsync(string id, SpeechFormat format, CancellationToken cancellationToken)
        {
            await speaker._turn.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                SonosClient client = speaker._client;
                _saved = await client.GetStateAsync(cancellationToken).ConfigureAwait(false);
                (Uri url, StreamingClip clip) = speaker._clips.Publish(format);
                if (speaker._announceVolume > 0) await client.SetVolumeAsync(speaker._announceVolume, cancellationToken).ConfigureAwait(false);
                await client.SetUriAsync(url.AbsoluteUri, "", cancellationToken).ConfigureAwait(false);
                await client.PlayAsync(cancellationToken).ConfigureAwait(false);
                _playStarted = speaker._clock.GetTimestamp();
                _clip = clip;
            }
            catch (Exception e)
            {
                // A failed start holds nothing: what the player was doing comes back (if it was read), the next reply may try.
                SonosState? interrupted = _saved;
                _saved = null;
                if (interrupted is not null) speaker.Restored = RestoreAsync(interrupted, TimeSpan.Zero); // releases the turn
                else speaker._turn.Release();
                if (cancellationToken.IsCancellationRequested || !IsUnreachable(e)) throw;
                speaker.MarkOffline();
                speaker._logger.LogWarning("Speech: {Speaker} is offline: {Reason}", Description, e.Message);
                throw new IOException($"{Description} is offline: {e.Message}", e);
            }
        }

        public ValueTask WriteAsync(ReadOnlyMemory<byte> pcm, CancellationToken cancellationToken)
        {
            (_clip ?? throw new InvalidOperationException($"reply {replyId}: no clip begun")).Append(pcm.Span);
            return default;
        }

        public ValueTask EndAsync(ReplyEndStatus status, string text, CancellationToken cancellationToken)
        {
            if (_clip is null || _saved is null) return default; // never began (no audio, or another output spoke it)
            _clip.Complete();
            // The player has been playing since Play: what is left of the clip, plus a margin, then the old state (at once when stopped).
            TimeSpan length = TimeSpan.FromSeconds(_clip.Length / (double)_clip.Format.BytesPerSecond);
            TimeSpan left = status == ReplyEndStatus.Stopped ? TimeSpan.Zero : length + PlayMargin - speaker._clock.GetElapsedTime(_playStarted);
            speaker.Restored = RestoreAsync(_saved, left);
            _clip = null;
            return default;
        }

        /// <summary>After <paramref name="wait"/>, what was playing comes back; then the next reply may have the player.</summary>
        private async Task RestoreAsync(SonosState saved, TimeSpan wait)
        {
            SonosClient client = speaker._client;
            try
            {
                if (wait > TimeSpan.Zero)
                {
                    using var playOut = new CancellationTokenSource();
                    Volatile.Write(ref speaker._playOut, playOut);
                    try { await Task.Delay(wait, speaker._clock, playOut.Token).ConfigureAwait(false); }
                    catch (OperationCanceledException) { speaker._logger.LogInformation("Speech: {Speaker}: stopped while playing; what was playing comes back", Description); }
                    finally { Interlocked.CompareExchange(ref speaker._playOut, null, playOut); }
                }
                if (saved.Uri.Length > 0) await client.SetUriAsync(saved.Uri, saved.Metadata, CancellationToken.None).ConfigureAwait(false);
                if (saved.Volume >= 0 && speaker._announceVolume > 0) await client.SetVolumeAsync(saved.Volume, CancellationToken.None).ConfigureAwait(false);
                if (saved.WasPlaying && saved.Uri.Length > 0) await client.PlayAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (IsUnreachable(e))
            {
                speaker._logger.LogWarning("Speech: {Speaker}: restoring what was playing failed: {Reason}", Description, e.Message);
            }
            finally
            {
                speaker._turn.Release();
            }
        }
    }

    /// <summary>Lowers the volume to <paramref name="volume"/> (never raises it), remembering what it was.</summary>
    public async Task DuckAsync(int volume)
    {
        await _duckGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_duckedFrom >= 0) return;
            int current = await _client.GetVolumeAsync(CancellationToken.None).ConfigureAwait(false);
            if (current <= volume) return;
            await _client.SetVolumeAsync(volume, CancellationToken.None).ConfigureAwait(false);
            _duckedFrom = current;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException or System.Xml.XmlException)
        {
            _logger.LogWarning("Speech: {Speaker}: ducking failed: {Reason}", Description, e.Message);
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
            await _client.SetVolumeAsync(volume, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
        {
            _logger.LogWarning("Speech: {Speaker}: restoring the volume after ducking failed: {Reason}", Description, e.Message);
        }
        finally
        {
            _duckGate.Release();
        }
    }
}
