using System.Threading.Channels;
using Alicia.Contracts.Messages;
using Microsoft.Extensions.Logging;

namespace Alicia.Voice.Speech.Output;

/// <summary>
/// One reply spoken as it streams in: pieces are taken in sequence order, each is synthesised as soon as it arrives (the
/// first while the rest is still being written), and the audio goes out in chunks of <see cref="SpeechOptions.ChunkLength"/>,
/// paced to at most <see cref="IReplyOutput.Lead"/> ahead of real time. <see cref="Stop"/> ends it before the next chunk.
/// </summary>
internal sealed class ReplyPlayback
{
    private readonly Channel<AiResponse> _pieces = Channel.CreateUnbounded<AiResponse>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly SpeechVoices _voices;
    private readonly SpeechOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly Func<ReplyPlayback, IReplyOutput?> _reroute;
    private readonly System.Text.StringBuilder _text = new();
    private volatile bool _noOutput;
    private IReplyOutput _target; // the output chosen (a satellite connection, a speaker)
    private IReplyOutput _output; // this reply's use of it (its turn on a speaker)
    private SpeechFormat? _format;
    private long _startedTicks;
    private double _sentSeconds;
    private int _chunksAfterStop;
    private readonly Action<ReplyPlayback>? _firstAudio;

    public ReplyPlayback(string replyId, string sessionId, string deviceId, string room, IReplyOutput output, SpeechVoices voices, SpeechOptions options,
        TimeProvider clock, ILogger logger, Func<ReplyPlayback, IReplyOutput?> reroute, Action<ReplyPlayback>? firstAudio = null)
    {
        StartedTicks = clock.GetTimestamp();
        _firstAudio = firstAudio;
        ReplyId = replyId;
        SessionId = sessionId;
        DeviceId = deviceId;
        Room = room;
        _target = output;
        _output = output.ForReply(replyId);
        _voices = voices;
        _options = options;
        _clock = clock;
        _logger = logger;
        _reroute = reroute;
        Completion = Task.Run(RunAsync);
    }

    public string ReplyId { get; }
    public string SessionId { get; }
    public string DeviceId { get; }
    public string Room { get; }
    public IReplyOutput Output => _target;

    /// <summary>Ends with how the reply ended.</summary>
    public Task<ReplyEndStatus> Completion { get; }

    /// <summary>Chunks written after <see cref="Stop"/> was called (at most the one already on its way).</summary>
    public int ChunksAfterStop => Volatile.Read(ref _chunksAfterStop);

    public int ChunksWritten { get; private set; }

    /// <summary>Reply pieces received and not yet taken for synthesis (the synthesis queue).</summary>
    public int PendingPieces => _pieces.Reader.Count;

    /// <summary>Ticks (<see cref="TimeProvider.GetTimestamp"/>) of the first audio chunk handed to the output (0: none yet).</summary>
    public long FirstAudioTicks { get; private set; }

    /// <summary>Ticks when the reply started (its first piece arrived).</summary>
    public long StartedTicks { get; }

    /// <summary>Ticks when the first audio was synthesised (0: none yet).</summary>
    public long FirstSynthesisTicks { get; private set; }

    /// <summary>The audio-delivery budget's measure: reply start to first audio sent, split into synthesis and send.</summary>
    public (double TotalMs, KeyValuePair<string, double>[] Stages) AudioDelivery()
    {
        double synthesis = _clock.GetElapsedTime(StartedTicks, FirstSynthesisTicks).TotalMilliseconds;
        double send = _clock.GetElapsedTime(FirstSynthesisTicks, FirstAudioTicks).TotalMilliseconds;
        return (synthesis + send, [new("synthesis", synthesis), new("send", send)]);
    }

    public bool IsStopped => _stop.IsCancellationRequested;

    public void Add(AiResponse piece) => _pieces.Writer.TryWrite(piece);

    /// <summary>Barge-in: no chunk after the one being written.</summary>
    public void Stop()
    {
        try { _stop.Cancel(); } catch (ObjectDisposedException) { }
        _pieces.Writer.TryComplete();
    }

    private async Task<ReplyEndStatus> RunAsync()
    {
        var pending = new SortedDictionary<int, AiResponse>();
        int next = 0;
        bool spokeAny = false, final = false, failedAny = false;
        CancellationToken stop = _stop.Token;
        try
        {
            while (!final)
            {
                AiResponse piece;
                using (var wait = CancellationTokenSource.CreateLinkedTokenSource(stop))
                {
                    wait.CancelAfter(_options.PieceTimeout);
                    try
                    {
                        piece = await _pieces.Reader.ReadAsync(wait.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                    {
                        _logger.LogWarning("Speech: reply {Reply} got no piece {Next} within {Timeout}; ended as it stands", ReplyId, next, _options.PieceTimeout);
                        break;
                    }
                    catch (ChannelClosedException)
                    {
                        break;
                    }
                }
                pending[piece.Sequence] = piece;
                while (pending.Remove(next, out AiResponse? current))
                {
                    next++;
                    if (current.Text.Length > 0)
                    {
                        if (_text.Length > 0) _text.Append(' ');
                        _text.Append(current.Text);
                        bool spoke = await SpeakAsync(current, stop).ConfigureAwait(false);
                        spokeAny |= spoke;
                        failedAny |= !spoke;
                    }
                    if (current.IsFinal)
                    {
                        final = true;
                        break;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }

        ReplyEndStatus status = _noOutput ? ReplyEndStatus.Failed : stop.IsCancellationRequested ? ReplyEndStatus.Stopped : spokeAny && !failedAny ? ReplyEndStatus.Spoken : ReplyEndStatus.Failed;
        try
        {
            await _output.EndAsync(status, _text.ToString(), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogInformation("Speech: reply {Reply} could not be ended on {Output}: {Reason}", ReplyId, _output.Description, e.Message);
        }
        return status;
    }

    /// <summary>Speaks one piece; false when no voice could (the text still goes out with the end).</summary>
    private async Task<bool> SpeakAsync(AiResponse piece, CancellationToken stop)
    {
        try
        {
            await foreach (SpeechAudio audio in _voices.SpeakAsync(piece.Text, piece.IsFixedPhrase, SpeechSettings.Default, stop).ConfigureAwait(false))
                await SendAsync(audio, stop).ConfigureAwait(false);
            return true;
        }
        catch (SpeechUnavailableException e)
        {
            _logger.LogWarning("Speech: reply {Reply}: {Reason}; the satellite gets the text", ReplyId, e.Message);
            return false;
        }
    }

    private async Task SendAsync(SpeechAudio audio, CancellationToken stop)
    {
        ReadOnlyMemory<byte> pcm = audio.Pcm;
        if (FirstSynthesisTicks == 0) FirstSynthesisTicks = _clock.GetTimestamp();
        if (_format is null)
        {
            await BeginAsync(audio.Format, stop).ConfigureAwait(false);
        }
        else if (_format != audio.Format)
        {
            pcm = PcmResampler.Resample(pcm.Span, audio.Format, _format.Value); // a fallback voice at another rate
        }
        SpeechFormat format = _format!.Value;
        int chunkBytes = Math.Max(2 * format.Channels, (int)(format.BytesPerSecond * _options.ChunkLength.TotalSeconds) / (2 * format.Channels) * (2 * format.Channels));
        for (int offset = 0; offset < pcm.Length; offset += chunkBytes)
        {
            await PaceAsync(stop).ConfigureAwait(false);
            stop.ThrowIfCancellationRequested();
            ReadOnlyMemory<byte> chunk = pcm.Slice(offset, Math.Min(chunkBytes, pcm.Length - offset));
            await WriteAsync(chunk, format, stop).ConfigureAwait(false);
            if (stop.IsCancellationRequested) Interlocked.Increment(ref _chunksAfterStop);
            _sentSeconds += chunk.Length / (double)format.BytesPerSecond;
        }
    }

    private async Task BeginAsync(SpeechFormat format, CancellationToken stop)
    {
        _format = format;
        while (true)
        {
            try
            {
                await _output.BeginAsync(ReplyId, format, stop).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException && e is not OutOfMemoryException)
            {
                if (!Reroute(e)) throw new OperationCanceledException("no output for the reply", e, stop);
            }
        }
    }

    private async Task WriteAsync(ReadOnlyMemory<byte> chunk, SpeechFormat format, CancellationToken stop)
    {
        while (true)
        {
            try
            {
                await _output.WriteAsync(chunk, stop).ConfigureAwait(false);
                ChunksWritten++;
                if (FirstAudioTicks == 0)
                {
                    FirstAudioTicks = _clock.GetTimestamp();
                    _firstAudio?.Invoke(this);
                }
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException && e is not OutOfMemoryException)
            {
                // The satellite went away mid-reply: the rest goes to another output in its room, if there is one.
                if (!Reroute(e)) throw new OperationCanceledException("no output for the reply", e, stop);
                await _output.BeginAsync(ReplyId, format, stop).ConfigureAwait(false);
            }
        }
    }

    private bool Reroute(Exception e)
    {
        IReplyOutput? other = _reroute(this);
        _logger.LogInformation("Speech: reply {Reply}: {Output} failed ({Reason}){Next}", ReplyId, _output.Description, e.Message, other is null ? "; no other output" : "; continuing on " + other.Description);
        if (other is null)
        {
            _noOutput = true; // ends as failed (not stopped): its text is all that reaches the user
            Stop();
            return false;
        }
        _target = other;
        _output = other.ForReply(ReplyId);
        _startedTicks = 0;
        _sentSeconds = 0;
        return true;
    }

    /// <summary>Holds the next chunk until the audio already sent is within the output's lead of real time.</summary>
    private async Task PaceAsync(CancellationToken stop)
    {
        if (_startedTicks == 0)
        {
            _startedTicks = _clock.GetTimestamp();
            return;
        }
        TimeSpan lead = _output.Lead;
        if (lead <= TimeSpan.Zero) return;
        TimeSpan ahead = TimeSpan.FromSeconds(_sentSeconds) - _clock.GetElapsedTime(_startedTicks) - lead;
        if (ahead > TimeSpan.Zero) await Task.Delay(ahead, _clock, stop).ConfigureAwait(false);
    }
}
