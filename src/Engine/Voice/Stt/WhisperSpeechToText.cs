using System.Collections.Concurrent;
using Alicia.Contracts.Messages;
using Whisper.net;

namespace Alicia.Engine.Voice.Stt;

public sealed record WhisperOptions
{
    public required string ModelPath { get; init; }

    /// <summary>whisper.cpp threads per transcription (2 on a 2-core box).</summary>
    public int Threads { get; init; } = 2;

    /// <summary>Transcriptions at once, each with its own whisper state over the one loaded model.</summary>
    public int Concurrency { get; init; } = 1;

    public bool FlashAttention { get; init; } = true;

    /// <summary>
    /// Temperature fallback: 0 turns it off (one greedy pass). whisper.cpp's default (0.2, best of 5)
    /// re-decodes uncertain audio up to 5 times, which multiplies the worst case; set it deliberately.
    /// </summary>
    public float TemperatureIncrement { get; init; }

    /// <summary>Audio-context buckets whose processors are built by <see cref="WhisperSpeechToText.WarmUpAsync"/> (128..512: utterances up to ~9 s).</summary>
    public IReadOnlyList<int> WarmUpContexts { get; init; } = [128, 256, 384, 512];

    /// <summary>Processors kept per audio-context size (a processor owns a whisper state of tens of MB).</summary>
    public int CachedProcessorsPerContext { get; init; } = 1;
}

/// <summary>
/// Whisper through Whisper.net (whisper.cpp in-process): the model is loaded once; each call takes a
/// processor built for its audio context (the utterance length), greedy, single segment, no context
/// carried between utterances, token cap, probabilities on. Processors are cached per audio context.
/// </summary>
public sealed class WhisperSpeechToText : ISpeechToText
{
    private readonly WhisperOptions _options;
    private readonly WhisperFactory _factory;
    private readonly ConcurrentDictionary<(int Ctx, int Tokens, string Language), ConcurrentBag<WhisperProcessor>> _processors = new();
    private readonly SemaphoreSlim _slots;

    public WhisperSpeechToText(WhisperOptions options)
    {
        if (!File.Exists(options.ModelPath)) throw new FileNotFoundException($"Whisper ggml model not found at '{options.ModelPath}' ('alicia models pull whisper-tiny.en')", options.ModelPath);
        _options = options;
        _factory = WhisperFactory.FromPath(options.ModelPath, new WhisperFactoryOptions { UseFlashAttention = options.FlashAttention, UseGpu = false });
        _slots = new SemaphoreSlim(options.Concurrency, options.Concurrency);
        string model = Path.GetFileNameWithoutExtension(options.ModelPath);
        Name = "whisper:" + (model.StartsWith("ggml-", StringComparison.Ordinal) ? model[5..] : model);
        Languages = IsEnglishOnly(options.ModelPath) ? ["en"] : [];
    }

    public string Name { get; }

    /// <summary>["en"] for the English-only models (tiny.en, base.en ...); empty (any) for multilingual ones.</summary>
    public IReadOnlyCollection<string> Languages { get; }

    /// <summary>whisper.cpp tells the two apart by the vocabulary: English-only models have 51864 tokens, multilingual ones more.</summary>
    private static bool IsEnglishOnly(string path)
    {
        Span<byte> header = stackalloc byte[8];
        using FileStream file = File.OpenRead(path);
        file.ReadExactly(header);
        return System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(header[4..]) < 51865;
    }
    public int MaxConcurrency => _options.Concurrency;

    public async Task<SttResult> TranscribeAsync(ReadOnlyMemory<float> audio, SttOptions options, CancellationToken cancellationToken)
    {
        if (audio.Length > 30 * 16000) throw new ArgumentException("an utterance is at most 30 s (Whisper's window)", nameof(audio));
        if (options.MaxTokens < 2) throw new ArgumentOutOfRangeException(nameof(options), options.MaxTokens, "the token cap must be at least 2 (whisper.cpp decodes one token past its max_tokens, and 0 would mean no cap)");
        int ctx = options.AudioContext ?? AudioContext.Bucket(AudioContext.ForSamples(audio.Length));
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        var key = (ctx, options.MaxTokens, options.Language);
        WhisperProcessor? processor = null;
        try
        {
            ConcurrentBag<WhisperProcessor> bag = _processors.GetOrAdd(key, _ => []);
            if (!bag.TryTake(out processor)) processor = Build(ctx, options);

            var segments = new List<TranscriptSegment>();
            var text = new System.Text.StringBuilder();
            double probabilitySum = 0, noSpeech = 0;
            int tokens = 0;
            await foreach (SegmentData segment in processor.ProcessAsync(audio, cancellationToken).ConfigureAwait(false))
            {
                segments.Add(new TranscriptSegment
                {
                    Text = segment.Text,
                    StartSeconds = segment.Start.TotalSeconds,
                    EndSeconds = segment.End.TotalSeconds,
                    Probability = segment.Probability,
                });
                text.Append(segment.Text);
                foreach (WhisperToken token in segment.Tokens)
                {
                    if (token.Id >= 50256) continue; // special and timestamp tokens
                    probabilitySum += token.Probability;
                    tokens++;
                }
                noSpeech = Math.Max(noSpeech, segment.NoSpeechProbability);
            }
            return new SttResult
            {
                Text = text.ToString().Trim(),
                Segments = segments,
                Confidence = tokens == 0 ? 0 : probabilitySum / tokens,
                NoSpeechProbability = noSpeech,
                Tokens = tokens,
                AudioContext = ctx,
                Engine = Name,
            };
        }
        finally
        {
            if (processor is not null)
            {
                ConcurrentBag<WhisperProcessor> bag = _processors.GetOrAdd(key, _ => []);
                if (bag.Count < _options.CachedProcessorsPerContext && !cancellationToken.IsCancellationRequested) bag.Add(processor);
                else await processor.DisposeAsync().ConfigureAwait(false);
            }
            _slots.Release();
        }
    }

    /// <summary>
    /// Builds and runs a processor for each of <see cref="WhisperOptions.WarmUpContexts"/> once, so the first
    /// utterance of a length does not pay whisper.cpp's state setup (~1 s on first use here). A processor is
    /// built for one token cap and language, so warm up with the options real calls use (the command cap).
    /// </summary>
    public async Task WarmUpAsync(SttOptions options, CancellationToken cancellationToken = default)
    {
        foreach (int ctx in _options.WarmUpContexts)
            await TranscribeAsync(new float[16000], options with { AudioContext = ctx }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Processors built so far (each a whisper state; a build on the hot path costs ~1 s).</summary>
    public int ProcessorsBuilt => Volatile.Read(ref _built);

    private int _built;

    private WhisperProcessor Build(int ctx, SttOptions options)
    {
        Interlocked.Increment(ref _built);
        return _factory.CreateBuilder()
            .WithLanguage(options.Language)
            .WithThreads(_options.Threads)
            .WithAudioContextSize(ctx)
            .WithMaxTokensPerSegment(options.MaxTokens - 1) // whisper.cpp stops after the token past max_tokens
            .WithSingleSegment()
            .WithNoContext()
            .WithGreedySamplingStrategy(b => b.WithBestOf(1))
            .WithTemperature(0f)
            .WithTemperatureInc(_options.TemperatureIncrement)
            .WithProbabilities()
            .Build();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (ConcurrentBag<WhisperProcessor> bag in _processors.Values)
            while (bag.TryTake(out WhisperProcessor? p)) await p.DisposeAsync().ConfigureAwait(false);
        _factory.Dispose();
        _slots.Dispose();
    }
}
