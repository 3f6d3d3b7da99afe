using System.Runtime.CompilerServices;
using Alicia.Voice.Speech;
using Alicia.Voice.Speech.Output;

namespace Alicia.Voice.Tests.Speech;

/// <summary>A fake voice that always fails (a broken model): what the fallback must survive.</summary>
internal sealed class FailingSynthesizerFake : ISpeechSynthesizer
{
    public string Name => "fake:failing";
    public SpeechFormat Format => new(16000);
    public int Calls;

    public async IAsyncEnumerable<ReadOnlyMemory<byte>> SynthesizeAsync(string text, SpeechSettings settings, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Calls);
        await Task.Yield();
        throw new InvalidDataException("the fake voice's model is broken");
#pragma warning disable CS0162 // an iterator needs a yield
        yield break;
#pragma warning restore CS0162
    }
}

/// <summary>Counts syntheses of a real voice.</summary>
internal sealed class CountingSynthesizer(ISpeechSynthesizer inner) : ISpeechSynthesizer
{
    public int Calls;
    public string Name => inner.Name;
    public SpeechFormat Format => inner.Format;

    public IAsyncEnumerable<ReadOnlyMemory<byte>> SynthesizeAsync(string text, SpeechSettings settings, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Calls);
        return inner.SynthesizeAsync(text, settings, cancellationToken);
    }
}

/// <summary>An output that records what it is given (a test double standing for a speaker); optionally failing, as an offline speaker does.</summary>
internal sealed class RecordingOutput(string name, bool offline = false, TimeSpan lead = default) : IReplyOutput
{
    public readonly TaskCompletionSource FirstAudio = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public readonly MemoryStream Pcm = new();
    public readonly TaskCompletionSource<(ReplyEndStatus Status, string Text)> Ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public SpeechFormat? Format;
    public string Description => name;
    public bool IsAvailable => !offline;
    public TimeSpan Lead => lead;

    public ValueTask BeginAsync(string replyId, SpeechFormat format, CancellationToken cancellationToken)
    {
        if (offline) throw new IOException($"{name} is offline");
        Format = format;
        return default;
    }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> pcm, CancellationToken cancellationToken)
    {
        if (offline) throw new IOException($"{name} is offline");
        Pcm.Write(pcm.Span);
        FirstAudio.TrySetResult();
        return default;
    }

    public ValueTask EndAsync(ReplyEndStatus status, string text, CancellationToken cancellationToken)
    {
        Ended.TrySetResult((status, text));
        return default;
    }
}
