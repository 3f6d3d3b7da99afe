using System.Text;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;

namespace Alicia.Assistant.Replies;

/// <summary>
/// Publishes one reply, piece by piece, on <c>alicia/voice/ai/response</c>: the same <see cref="AiResponse.ReplyId"/>,
/// consecutive <see cref="AiResponse.Sequence"/> numbers, the session's satellite, room and language, timings measured
/// from the moment the request arrived, and <see cref="AiResponse.IsFinal"/> on the last piece.
/// </summary>
internal sealed class ReplyWriter(Func<AliciaBus> bus, RouteRequest request, TimeProvider clock)
{
    private readonly StringBuilder _spoken = new();
    private int _sequence;

    public string ReplyId { get; } = Guid.NewGuid().ToString("n");
    public RouteRequest Request => request;
    public Dictionary<string, double> Timings { get; } = new(request.Timings, StringComparer.Ordinal);
    public bool Finished { get; private set; }

    /// <summary>Everything said so far (for the conversation memory).</summary>
    public string Spoken => _spoken.ToString().Trim();

    public int Pieces => _sequence;

    public double ElapsedMs => clock.GetElapsedTime(request.ArrivedAt).TotalMilliseconds;

    /// <summary>Records a stage's time since the request arrived (first one wins).</summary>
    public void Mark(string stage) => Timings.TryAdd(stage, ElapsedMs);

    public Task SentenceAsync(string text, ReplySource source, string intent, CancellationToken cancellationToken, bool isFixedPhrase = false) =>
        PublishAsync(text, source, intent, isFinal: false, isFixedPhrase, cancellationToken);

    public Task FinalAsync(string text, ReplySource source, string intent, CancellationToken cancellationToken, bool isFixedPhrase = false) =>
        PublishAsync(text, source, intent, isFinal: true, isFixedPhrase, cancellationToken);

    private async Task PublishAsync(string text, ReplySource source, string intent, bool isFinal, bool isFixedPhrase, CancellationToken cancellationToken)
    {
        if (Finished) return;
        if (_sequence == 0) Mark("first_reply_ms");
        if (isFinal)
        {
            Finished = true;
            Mark("reply_done_ms");
        }
        if (text.Length > 0) _spoken.Append(text).Append(' ');
        var piece = new AiResponse
        {
            SessionId = request.SessionId,
            Text = text,
            Intent = intent,
            ReplyId = ReplyId,
            Sequence = _sequence++,
            IsFinal = isFinal,
            IsFixedPhrase = isFixedPhrase,
            Source = source,
            DeviceId = request.DeviceId,
            Room = request.Room,
            Language = request.Language,
            Timings = new Dictionary<string, double>(Timings, StringComparer.Ordinal),
        };
        await bus().PublishAsync(piece, cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
