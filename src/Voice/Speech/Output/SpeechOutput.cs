using System.Collections.Concurrent;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Voice.Speakers;
using Alicia.Voice.Tracing;
using Microsoft.Extensions.Logging;

namespace Alicia.Voice.Speech.Output;

/// <summary>
/// The speaking half on the bus: speaks each streamed reply (<see cref="AiResponse"/> pieces) on the satellite that asked
/// (its own audio connection) or else on the best speaker of its room, answers <see cref="TtsRequest"/>s with audio, and
/// stops every reply of a room or satellite when the user says "stop" (<see cref="VoiceCommandRoute"/> with intent
/// <c>stop</c>) (barge-in: the same message with the room as its location, from a wake word or a button, stops the room).
/// </summary>
internal sealed class SpeechOutput : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ReplyPlayback> _replies = new(StringComparer.Ordinal);
    private readonly List<IAsyncDisposable> _subscriptions = [];
    private readonly SpeechOptions _options;
    private readonly SatelliteConnections _satellites;
    private readonly SpeakerDirectory _speakers;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;

    public SpeechOutput(SpeechVoices voices, SpeechOptions options, SatelliteConnections satellites, SpeakerDirectory? speakers, TimeProvider clock, ILogger logger)
    {
        Voices = voices;
        _options = options;
        _satellites = satellites;
        _speakers = speakers ?? new SpeakerDirectory([]);
        _clock = clock;
        _logger = logger;
    }

    public SpeechVoices Voices { get; }

    public SpeakerDirectory RoomSpeakers => _speakers;

    /// <summary>Raised when a reply has ended (tests and benchmarks read its stamps).</summary>
    public event Action<ReplyPlayback, ReplyEndStatus>? ReplyEnded;

    /// <summary>Raised when a reply's first audio is handed to its output (the audio-delivery budget's end).</summary>
    public event Action<ReplyPlayback>? FirstAudio;

    /// <summary>Replies being spoken now.</summary>
    public IReadOnlyCollection<ReplyPlayback> Active => [.. _replies.Values];

    public async Task StartAsync(AliciaBus bus, CancellationToken cancellationToken)
    {
        // Replies may be addressed to the requester (a satellite, a CLI): the engine speaks them all.
        var all = new SubscribeOptions { ReceiveAll = true };
        _subscriptions.Add(await bus.SubscribeAsync<AiResponse>((m, _) => { OnPiece(m.Data, VoiceTracing.ParentOf(m.Envelope.Metadata)); return default; }, all, cancellationToken: cancellationToken).ConfigureAwait(false));
        _subscriptions.Add(await bus.SubscribeAsync<VoiceCommandRoute>((m, _) => { OnRoute(m.Data); return default; }, all, cancellationToken: cancellationToken).ConfigureAwait(false));
        _subscriptions.Add(await bus.SubscribeAsync<SpeakerAnnouncement>((m, _) => { Announce(m.Data.Text, m.Data.Location); return default; }, all, cancellationToken: cancellationToken).ConfigureAwait(false));
        _subscriptions.Add(await bus.RespondAsync<TtsRequest, TtsResponse>(OnTtsAsync, cancellationToken: cancellationToken).ConfigureAwait(false));
    }

    /// <summary>One piece of a reply: starts the reply on its first piece, or adds to it.</summary>
    internal void OnPiece(AiResponse piece, System.Diagnostics.ActivityContext trace = default)
    {
        string key = piece.ReplyId.Length > 0 ? piece.ReplyId : piece.SessionId;
        // One handler at a time (the subscription's concurrency is 1): a reply starts once.
        _replies.GetOrAdd(key, _ => Start(key, piece, trace)).Add(piece);
    }

    private ReplyPlayback Start(string key, AiResponse first, System.Diagnostics.ActivityContext trace = default)
    {
        IReplyOutput? output = _satellites.Find(first.SessionId, first.DeviceId) ?? (first.Room.Length > 0 ? _speakers.BestIn(first.Room) : null);
        return Start(key, first, output ?? new NoAudioOutput(_logger, first.DeviceId, first.Room), trace);
    }

    private ReplyPlayback Start(string key, AiResponse first, IReplyOutput output, System.Diagnostics.ActivityContext trace = default)
    {
        System.Diagnostics.Activity? span = VoiceTracing.StartReply(trace, key, first.SessionId, first.DeviceId, first.Room);
        // A failed output hands the rest to another speaker of the room that still answers.
        var playback = new ReplyPlayback(key, first.SessionId, first.DeviceId, first.Room, output, Voices, _options, _clock, _logger,
            p => p.Room.Length > 0 ? _speakers.In(p.Room).Select(s => s.Output).FirstOrDefault(o => o.IsAvailable && o != p.Output) : null,
            p => FirstAudio?.Invoke(p));
        _ = playback.Completion.ContinueWith(t =>
        {
            _replies.TryRemove(new KeyValuePair<string, ReplyPlayback>(key, playback));
            VoiceTracing.EndReply(span, playback, t.IsCompletedSuccessfully ? t.Result : ReplyEndStatus.Failed, _clock);
            ReplyEnded?.Invoke(playback, t.IsCompletedSuccessfully ? t.Result : ReplyEndStatus.Failed);
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return playback;
    }

    /// <summary>An announcement: spoken by every speaker of the room (empty: of every room); returns how many.</summary>
    public int Announce(string text, string room)
    {
        int count = 0;
        foreach (RoomSpeaker speaker in _speakers.In(room))
        {
            string key = "announce-" + Guid.NewGuid().ToString("N");
            var piece = new AiResponse { ReplyId = key, Text = text, IsFinal = true, Room = speaker.Room };
            _replies[key] = Start(key, piece, speaker.Output);
            _replies[key].Add(piece);
            count++;
        }
        _logger.LogInformation("Speech: announcement to {Count} speaker(s) in {Room}", count, room.Length == 0 ? "every room" : room);
        return count;
    }

    internal void OnRoute(VoiceCommandRoute route)
    {
        if (!string.Equals(route.Intent, "stop", StringComparison.OrdinalIgnoreCase) && !string.Equals(route.Intent, "cancel", StringComparison.OrdinalIgnoreCase)) return;
        Interrupt(route.SessionId, route.DeviceId ?? "", route.Location);
    }

    /// <summary>Stops every reply of the session, satellite or room (any one that matches); returns how many.</summary>
    public int Interrupt(string sessionId, string deviceId, string room)
    {
        int stopped = 0;
        foreach (ReplyPlayback p in _replies.Values)
        {
            bool match = (sessionId.Length > 0 && p.SessionId == sessionId) || (deviceId.Length > 0 && p.DeviceId == deviceId) || (room.Length > 0 && string.Equals(p.Room, room, StringComparison.OrdinalIgnoreCase));
            if (!match || p.IsStopped) continue;
            p.Stop();
            stopped++;
        }
        // A speaker may still be playing a reply whose synthesis has already ended: the stop is for that too.
        if (room.Length > 0)
        {
            foreach (RoomSpeaker speaker in _speakers.In(room))
                if (speaker.Output.StopPlaying()) stopped++;
        }
        if (stopped > 0) _logger.LogInformation("Speech: stopped {Count} reply(ies) (session {Session}, device {Device}, room {Room})", stopped, sessionId, deviceId, room);
        return stopped;
    }

    private async ValueTask<TtsResponse> OnTtsAsync(BusMessage<TtsRequest> message, CancellationToken ct)
    {
        TtsRequest request = message.Data;
        using System.Diagnostics.Activity? span = VoiceTracing.StartSynthesis(message.Envelope.Metadata, request.Text.Length);
        var pcm = new MemoryStream();
        SpeechFormat? format = null;
        try
        {
            await foreach (SpeechAudio audio in Voices.SpeakAsync(request.Text, fixedPhrase: false, SpeechSettings.Default, ct).ConfigureAwait(false))
            {
                format ??= audio.Format;
                pcm.Write(audio.Format == format ? audio.Pcm.Span : PcmResampler.Resample(audio.Pcm.Span, audio.Format, format.Value));
            }
        }
        catch (SpeechUnavailableException e)
        {
            _logger.LogWarning("Speech: TTS request {Session}: {Reason}", request.SessionId, e.Message);
        }
        int rate = format?.SampleRate ?? 22050;
        if (request.TargetDevice.Length > 0 && _satellites.Find("", request.TargetDevice) is not null)
            OnPiece(new AiResponse { SessionId = request.SessionId, ReplyId = "tts-" + Guid.NewGuid().ToString("N"), Text = request.Text, IsFinal = true, DeviceId = request.TargetDevice });
        return new TtsResponse { SessionId = request.SessionId, SampleRate = rate, Audio = pcm.ToArray(), DurationMs = pcm.Length / 2.0 / rate * 1000 };
    }

    public async ValueTask DisposeAsync()
    {
        foreach (IAsyncDisposable s in _subscriptions) await s.DisposeAsync().ConfigureAwait(false);
        foreach (ReplyPlayback p in _replies.Values) p.Stop();
        try { await Task.WhenAll(_replies.Values.Select(p => p.Completion)).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException) { }
    }

    /// <summary>No satellite connection and no speaker: the reply stays text on the bus (it was published as such).</summary>
    private sealed class NoAudioOutput(ILogger logger, string deviceId, string room) : IReplyOutput
    {
        public string Description => "no audio output";
        public bool IsAvailable => false;
        public TimeSpan Lead => TimeSpan.Zero;

        public ValueTask BeginAsync(string replyId, SpeechFormat format, CancellationToken cancellationToken) =>
            throw new InvalidOperationException($"no satellite connection for '{deviceId}' and no speaker in room '{room}'");

        public ValueTask WriteAsync(ReadOnlyMemory<byte> pcm, CancellationToken cancellationToken) => throw new InvalidOperationException("no audio output");

        public ValueTask EndAsync(ReplyEndStatus status, string text, CancellationToken cancellationToken)
        {
            logger.LogInformation("Speech: no audio path for the reply to '{Device}' in '{Room}': it stays text on the bus: \"{Text}\"", deviceId, room, text);
            return default;
        }
    }
}
