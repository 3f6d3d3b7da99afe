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
        byte[] utf8 = new byte[Encoding.UTF8.GetByteCount(clause) + 1];
        Encoding.UTF8.GetBytes(clause, utf8);
        var result = new StringBuilder();
        lock (Gate)
        {
            SelectVoiceLocked(voice);
            fixed (byte* start = utf8)
            {
                byte* text = start;
                // Bounded: each call consumes at least one clause of the finite buffer.
                for (int guard = 0; text is not null && guard <= utf8.Length; guard++)
                {
                    byte* phonemes = EspeakNative.TextToPhonemes(&text, EspeakNative.CharsUtf8, EspeakNative.PhonemesIpa);
                    if (phonemes is null) break;
                    string part = Marshal.PtrToStringUTF8((nint)phonemes) ?? "";
                    if (part.Length == 0) continue;
                    if (result.Length > 0) result.Append(' ');
                    result.Append(part);
                }
            }
        }
        return result.ToString();
    }

    /// <summary>
    /// Speaks <paramref name="text"/> with espeak-ng's own synthesiser, handing each buffer (16-bit mono at
    /// <see cref="SampleRate"/>) to <paramref name="sink"/> as it is made; the sink returns false to stop early.
    /// </summary>
    public static void Synthesize(string text, string voice, int wordsPerMinute, int pitch, Func<ReadOnlySpan<short>, bool> sink)
    {
        byte[] utf8 = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, utf8);
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
