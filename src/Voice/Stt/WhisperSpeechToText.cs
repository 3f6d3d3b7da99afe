using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Alicia.Contracts.Messages;
using Alicia.Voice.Stt.Whisper;

namespace Alicia.Voice.Stt;

internal sealed record WhisperOptions
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

}

/// <summary>
/// Whisper through whisper.cpp in-process (our own source-generated binding, so the Native-AOT binary runs it
/// too): the model is loaded once; each call runs greedy, single segment, no context carried between
/// utterances, token cap, probabilities read back. A whisper state (tens of MB of buffers) is sized for the full
/// 30 s context and serves any <c>audio_ctx</c>, which is a per-call parameter: one state per concurrent slot.
/// </summary>
internal sealed class WhisperSpeechToText : ISpeechToText
{
    private readonly WhisperOptions _options;
    private readonly nint _context;
    private readonly int _endOfText;
    private readonly WhisperFullParams _baseParams;
    private readonly ConcurrentBag<nint> _states = [];
    private readonly SemaphoreSlim _slots;
    private int _disposed;

    public WhisperSpeechToText(WhisperOptions options)
    {
        if (!File.Exists(options.ModelPath)) throw new FileNotFoundException($"Whisper ggml model not found at '{options.ModelPath}' ('alicia models pull whisper-tiny.en')", options.ModelPath);
        WhisperLibrary.EnsureLoaded();
        _options = options;
        WhisperContextParams contextParams = WhisperNative.ContextDefaultParams();
        contextParams.UseGpu = 0;
        contextParams.FlashAttention = options.FlashAttention ? (byte)1 : (byte)0;
        _context = WhisperNative.InitFromFile(options.ModelPath, contextParams);
        if (_context == 0) throw new InvalidDataException($"whisper.cpp could not load '{options.ModelPath}' as a ggml Whisper model");
        _endOfText = WhisperNative.EndOfTextToken(_context);
        _baseParams = BaseParams(options);
        _slots = new SemaphoreSlim(options.Concurrency, options.Concurrency);
        string model = Path.GetFileNameWithoutExtension(options.ModelPath);
        Name = "whisper:" + (model.StartsWith("ggml-", StringComparison.Ordinal) ? model[5..] : model);
        Languages = WhisperNative.IsMultilingual(_context) != 0 ? [] : ["en"];
    }

    public string Name { get; }

    /// <summary>["en"] for the English-only models (tiny.en, base.en ...); empty (any) for multilingual ones.</summary>
    public IReadOnlyCollection<string> Languages { get; }

    /// <summary>English-only models serve "en"; multilingual ones the languages whisper.cpp knows (an unknown code would decode garbage).</summary>
    public bool Serves(string language) =>
        Languages.Count > 0 ? Languages.Contains(language, StringComparer.OrdinalIgnoreCase) : language.Length is > 0 and <= 16 && WhisperNative.LanguageId(language) >= 0;

    /// <summary>Whisper states built so far (a build on the hot path costs ~1 s).</summary>
    public int StatesBuilt => Volatile.Read(ref _built);

    private int _built;
    public int MaxConcurrency => _options.Concurrency;

    /// <summary>
    /// Called on whisper.cpp's thread each time it polls for cancellation (after the encoder and after every decoder
    /// step), with the number of polls so far in that call: a measure of the work done that tests can act on. Must not throw.
    /// </summary>
    internal Action<long>? AbortPolled { get; set; }

    public async Task<SttResult> TranscribeAsync(ReadOnlyMemory<float> audio, SttOptions options, CancellationToken cancellationToken)
    {
        if (audio.Length > 30 * 16000) throw new ArgumentException("an utterance is at most 30 s (Whisper's window)", nameof(audio));
        if (options.MaxTokens < 2) throw new ArgumentOutOfRangeException(nameof(options), options.MaxTokens, "the token cap must be at least 2 (whisper.cpp decodes one token past its max_tokens, and 0 would mean no cap)");
        int ctx = options.AudioContext ?? AudioContext.ForSamples(audio.Length);
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        nint state = 0;
        try
        {
            state = TakeState();
            // whisper_full holds its thread for the whole utterance: a thread of its own, not a pool thread.
            nint taken = state;
            return await Task.Factory.StartNew(() => Run(taken, audio, ctx, options, cancellationToken), cancellationToken,
                TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        }
        finally
        {
            if (state != 0) ReturnState(state);
            _slots.Release();
        }
    }

    /// <summary>
    /// Builds a state for every concurrent slot and runs each once (as many at once as may run at once), so
    /// the first utterances do not pay whisper.cpp's state setup and first-run costs.
    /// </summary>
    public async Task WarmUpAsync(CancellationToken cancellationToken = default) =>
        await Task.WhenAll(Enumerable.Range(0, _options.Concurrency).Select(_ =>
            TranscribeAsync(new float[16000], new SttOptions { MaxTokens = 2 }, cancellationToken))).ConfigureAwait(false);

    private static WhisperFullParams BaseParams(WhisperOptions options)
    {
        WhisperFullParams p = WhisperNative.FullDefaultParams(WhisperNative.SamplingGreedy);
        p.Threads = options.Threads;
        p.NoContext = 1;
        p.SingleSegment = 1;
        p.PrintProgress = 0;
        p.PrintRealtime = 0;
        p.PrintTimestamps = 0;
        p.GreedyBestOf = 1;
        p.Temperature = 0;
        p.TemperatureIncrement = options.TemperatureIncrement;
        return p;
    }

    private unsafe SttResult Run(nint state, ReadOnlyMemory<float> audio, int ctx, SttOptions options, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        WhisperFullParams p = _baseParams;
        p.AudioContext = ctx;
        p.MaxTokens = options.MaxTokens - 1; // whisper.cpp stops after the token past max_tokens
        p.AbortCallback = (nint)(delegate* unmanaged[Cdecl]<nint, byte>)&ShouldAbort;
        byte[] language = Encoding.UTF8.GetBytes(options.Language + "\0");
        GCHandle token = GCHandle.Alloc(new AbortProbe(cancellationToken, AbortPolled));
        try
        {
            fixed (byte* lang = language)
            fixed (float* samples = audio.Span)
            {
                p.Language = (nint)lang;
                p.AbortUserData = GCHandle.ToIntPtr(token);
                int status = WhisperNative.FullWithState(_context, state, p, samples, audio.Length);
                cancellationToken.ThrowIfCancellationRequested();
                if (status != 0) throw new InvalidOperationException($"whisper_full failed ({status})");
            }
        }
        finally
        {
            token.Free();
        }
        return Read(state, ctx);
    }

    /// <summary>Segments as Whisper.net reported them (empty ones skipped, probability the mean over all their tokens); confidence over text tokens only.</summary>
    private unsafe SttResult Read(nint state, int ctx)
    {
        var segments = new List<TranscriptSegment>();
        var text = new StringBuilder();
        double probabilitySum = 0, noSpeech = 0;
        int tokens = 0;
        int count = WhisperNative.SegmentCount(state);
        for (int s = 0; s < count; s++)
        {
            string segmentText = Marshal.PtrToStringUTF8((nint)WhisperNative.SegmentText(state, s)) ?? "";
            if (segmentText.Length == 0) continue;
            int tokenCount = WhisperNative.TokenCount(state, s);
            double segmentSum = 0;
            for (int t = 0; t < tokenCount; t++)
            {
                float probability = WhisperNative.TokenProbability(state, s, t);
                segmentSum += probability;
                if (WhisperNative.TokenId(state, s, t) >= _endOfText) continue; // special and timestamp tokens
                probabilitySum += probability;
                tokens++;
            }
            segments.Add(new TranscriptSegment
            {
                Text = segmentText,
                StartSeconds = WhisperNative.SegmentStart(state, s) / 100.0,
                EndSeconds = WhisperNative.SegmentEnd(state, s) / 100.0,
                Probability = tokenCount == 0 ? 0 : segmentSum / tokenCount,
            });
            text.Append(segmentText);
            noSpeech = Math.Max(noSpeech, WhisperNative.SegmentNoSpeechProbability(state, s));
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

    // Polled by whisper.cpp after the encoder and after every decoder step: a cancelled token stops the transcription there.
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static byte ShouldAbort(nint userData) =>
        GCHandle.FromIntPtr(userData).Target is AbortProbe probe && probe.Poll() ? (byte)1 : (byte)0;

    /// <summary>What the abort callback reads: the caller's token (a copy still observes the same source), and the test hook.</summary>
    private sealed class AbortProbe(CancellationToken token, Action<long>? polled)
    {
        private long _polls;

        public bool Poll()
        {
            polled?.Invoke(++_polls);
            return token.IsCancellationRequested;
        }
    }

    private nint TakeState()
    {
        if (_states.TryTake(out nint state)) return state;
        Interlocked.Increment(ref _built);
        state = WhisperNative.InitState(_context);
        return state != 0 ? state : throw new InvalidOperationException("whisper.cpp could not allocate a state");
    }

    // A state whose run was aborted is kept too: whisper_full recomputes the mel, encoder output and KV cache of
    // every call from scratch (a test checks an aborted state then transcribes exactly as a fresh one), and
    // building a new state costs far more than a transcription, so aborting a speculation is cheap.
    private void ReturnState(nint state)
    {
        if (_states.Count < _options.Concurrency) _states.Add(state);
        else WhisperNative.FreeState(state);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        // Taking every slot waits for the transcriptions in flight: their states must not be freed under them.
        for (int i = 0; i < _options.Concurrency; i++) await _slots.WaitAsync().ConfigureAwait(false);
        while (_states.TryTake(out nint state)) WhisperNative.FreeState(state);
        WhisperNative.Free(_context);
        _slots.Dispose();
    }
}
