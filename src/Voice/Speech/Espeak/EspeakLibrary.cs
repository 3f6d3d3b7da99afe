using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Alicia.Voice.Speech.Espeak;

/// <summary>
/// The process's one espeak-ng instance. espeak-ng keeps global state (voice, parameters, the synth callback), so every
/// call goes through <see cref="Gate"/>: phonemes for Piper and espeak-ng's own synthesis take turns.
/// </summary>
internal static unsafe class EspeakLibrary
{
    private static readonly Lock Gate = new();
    private static int _sampleRate;
    private static string? _voice;
    private static string? _loadError;

    // The sink of the synthesis under way (set and cleared under the gate; the callback runs on the calling thread).
    private static Func<ReadOnlySpan<short>, bool>? _sink;

    /// <summary>The sample rate espeak-ng synthesises at (22050 Hz), after a successful <see cref="EnsureLoaded"/>.</summary>
    public static int SampleRate
    {
        get
        {
            EnsureLoaded();
            return _sampleRate;
        }
    }

    /// <summary>Whether libespeak-ng.so.1 and its data load here (null: yes; else why not).</summary>
    public static string? Unavailable()
    {
        try
        {
            EnsureLoaded();
            return null;
        }
        catch (EspeakException e)
        {
            return e.Message;
        }
    }

    private static void EnsureLoaded()
    {
        lock (Gate) LoadLocked();
    }

    private static void LoadLocked()
    {
        if (_sampleRate > 0) return;
        if (_loadError is not null) throw new EspeakException(_loadError);
        try
        {
            int rate = EspeakNative.Initialize(EspeakNative.AudioOutputSynchronous, 100, null, EspeakNative.InitializeDontExit);
            if (rate <= 0) throw new EspeakException($"espeak_Initialize failed ({rate}): is espeak-ng-data installed (apt-get install espeak-ng)?");
            EspeakNative.SetSynthCallback(&OnSynth);
            _sampleRate = rate;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _loadError = $"{EspeakNative.Library} cannot be loaded ({e.Message}): apt-get install espeak-ng";
            throw new EspeakException(_loadError, e);
        }
    }

    private static void SelectVoiceLocked(string voice)
    {
        LoadLocked();
        if (_voice == voice) return;
        int status = EspeakNative.SetVoiceByName(voice);
        if (status != 0)
        {
            _voice = null; // what espeak-ng kept is unknown: the next call sets its voice again
            throw new EspeakException($"espeak-ng has no voice '{voice}' (espeak_SetVoiceByName returned {status})");
        }
        _voice = voice;
    }

    /// <summary>
    /// IPA phonemes of one clause (text without clause punctuation), as espeak-ng gives them clause by clause;
    /// its own internal clauses are joined by a space.
    /// </summary>
    public static string Phonemize(string clause, string voice)
    {
        var result = new StringBuilder();
        AppendPhonemes(clause, voice, result);
        return result.ToString();
    }

    /// <summary>
    /// <see cref="Phonemize"/> appended to <paramref name="destination"/>, without a string of its own: the clause is
    /// encoded on the stack (pooled when long) and espeak-ng's UTF-8 decoded straight into the builder.
    /// </summary>
    public static void AppendPhonemes(ReadOnlySpan<char> clause, string voice, StringBuilder destination)
    {
        Span<byte> utf8 = stackalloc byte[StackBytes];
        byte[]? rented = ZeroTerminatedUtf8(clause, ref utf8);
        Span<char> chars = stackalloc char[StackBytes];
        int start = destination.Length;
        try
        {
            lock (Gate)
            {
                SelectVoiceLocked(voice);
                fixed (byte* first = utf8)
                {
                    byte* text = first;
                    // Bounded: each call consumes at least one clause of the finite buffer.
                    for (int guard = 0; text is not null && guard <= utf8.Length; guard++)
                    {
                        byte* phonemes = EspeakNative.TextToPhonemes(&text, EspeakNative.CharsUtf8, EspeakNative.PhonemesIpa);
                        if (phonemes is null) break;
                        ReadOnlySpan<byte> part = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(phonemes);
                        if (part.Length == 0) continue;
                        if (destination.Length > start) destination.Append(' ');
                        AppendUtf8(part, chars, destination);
                    }
                }
            }
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private const int StackBytes = 512;

    /// <summary>
    /// <paramref name="text"/> as the zero-terminated UTF-8 espeak-ng reads, in <paramref name="utf8"/> (the caller's
    /// stack buffer, or a pooled array when the text is longer: returned, to be given back); <paramref name="utf8"/>
    /// ends at the terminator.
    /// </summary>
    private static byte[]? ZeroTerminatedUtf8(ReadOnlySpan<char> text, ref Span<byte> utf8)
    {
        int size = Encoding.UTF8.GetByteCount(text) + 1;
        byte[]? rented = size > utf8.Length ? ArrayPool<byte>.Shared.Rent(size) : null;
        if (rented is not null) utf8 = rented;
        utf8 = utf8[..size];
        utf8[Encoding.UTF8.GetBytes(text, utf8)] = 0;
        return rented;
    }

    /// <summary>UTF-8 to the builder as <see cref="Marshal.PtrToStringUTF8(nint)"/> decodes it (a UTF-16 unit per byte at most).</summary>
    private static void AppendUtf8(ReadOnlySpan<byte> utf8, Span<char> scratch, StringBuilder destination)
    {
        char[]? rented = utf8.Length > scratch.Length ? ArrayPool<char>.Shared.Rent(utf8.Length) : null;
        Span<char> chars = rented is null ? scratch : rented;
        destination.Append(chars[..Encoding.UTF8.GetChars(utf8, chars)]);
        if (rented is not null) ArrayPool<char>.Shared.Return(rented);
    }

    /// <summary>
    /// Speaks <paramref name="text"/> with espeak-ng's own synthesiser, handing each buffer (16-bit mono at
    /// <see cref="SampleRate"/>) to <paramref name="sink"/> as it is made; the sink returns false to stop early.
    /// </summary>
    public static void Synthesize(string text, string voice, int wordsPerMinute, int pitch, Func<ReadOnlySpan<short>, bool> sink)
    {
        Span<byte> utf8 = stackalloc byte[StackBytes];
        byte[]? rented = ZeroTerminatedUtf8(text, ref utf8);
        try
        {
            SynthesizeUtf8(utf8, voice, wordsPerMinute, pitch, sink);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static void SynthesizeUtf8(ReadOnlySpan<byte> utf8, string voice, int wordsPerMinute, int pitch, Func<ReadOnlySpan<short>, bool> sink)
    {
        lock (Gate)
        {
            SelectVoiceLocked(voice);
            EspeakNative.SetParameter(EspeakNative.ParameterRate, wordsPerMinute, 0);
            EspeakNative.SetParameter(EspeakNative.ParameterPitch, pitch, 0);
            _sink = sink;
            try
            {
                int status;
                fixed (byte* p = utf8)
                    status = EspeakNative.Synth(p, (nuint)utf8.Length, 0, EspeakNative.PositionCharacter, 0, EspeakNative.CharsUtf8, null, 0);
                // EE_OK = 0; an abort from the callback is not an error.
                if (status != 0) throw new EspeakException($"espeak_Synth failed ({status})");
            }
            finally
            {
                _sink = null;
            }
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnSynth(short* wav, int samples, nint events)
    {
        Func<ReadOnlySpan<short>, bool>? sink = _sink;
        if (sink is null || wav is null || samples <= 0) return 0;
        try
        {
            return sink(new ReadOnlySpan<short>(wav, samples)) ? 0 : 1;
        }
        catch
        {
            // An exception must not cross into native code: abort this synthesis instead.
            return 1;
        }
    }
}

/// <summary>espeak-ng is missing or failed.</summary>
internal sealed class EspeakException : Exception
{
    public EspeakException(string message) : base(message) { }
    public EspeakException(string message, Exception inner) : base(message, inner) { }
}
