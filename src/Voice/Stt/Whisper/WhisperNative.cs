using System.Runtime.InteropServices;

namespace Alicia.Voice.Stt.Whisper;

/// <summary>
/// The part of whisper.cpp's C API that <see cref="WhisperSpeechToText"/> uses, source-generated
/// (<c>LibraryImport</c>: no runtime marshalling code, so it works the same under the JIT and Native AOT).
/// <see cref="WhisperLibrary"/> resolves <c>libwhisper</c>; call <see cref="WhisperLibrary.EnsureLoaded"/> first.
/// </summary>
internal static unsafe partial class WhisperNative
{
    private const string Library = WhisperLibrary.Name;

    public const int SamplingGreedy = 0;

    [LibraryImport(Library, EntryPoint = "whisper_context_default_params")]
    public static partial WhisperContextParams ContextDefaultParams();

    [LibraryImport(Library, EntryPoint = "whisper_init_from_file_with_params_no_state", StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint InitFromFile(string path, WhisperContextParams parameters);

    [LibraryImport(Library, EntryPoint = "whisper_init_state")]
    public static partial nint InitState(nint context);

    [LibraryImport(Library, EntryPoint = "whisper_free")]
    public static partial void Free(nint context);

    [LibraryImport(Library, EntryPoint = "whisper_free_state")]
    public static partial void FreeState(nint state);

    /// <summary>Heap-allocated defaults for a strategy; release with <see cref="FreeParams"/>.</summary>
    [LibraryImport(Library, EntryPoint = "whisper_full_default_params_by_ref")]
    public static partial WhisperFullParams* FullDefaultParamsByRef(int strategy);

    [LibraryImport(Library, EntryPoint = "whisper_free_params")]
    public static partial void FreeParams(WhisperFullParams* parameters);

    /// <summary>A copy of whisper.cpp's defaults for a strategy.</summary>
    public static WhisperFullParams FullDefaultParams(int strategy)
    {
        WhisperFullParams* defaults = FullDefaultParamsByRef(strategy);
        try { return *defaults; }
        finally { FreeParams(defaults); }
    }

    /// <summary>Runs mel, encoder and decoder on <paramref name="samples"/> (16 kHz mono) into <paramref name="state"/>; 0 on success.</summary>
    [LibraryImport(Library, EntryPoint = "whisper_full_with_state")]
    public static partial int FullWithState(nint context, nint state, WhisperFullParams parameters, float* samples, int sampleCount);

    [LibraryImport(Library, EntryPoint = "whisper_full_n_segments_from_state")]
    public static partial int SegmentCount(nint state);

    [LibraryImport(Library, EntryPoint = "whisper_full_get_segment_text_from_state")]
    public static partial byte* SegmentText(nint state, int segment);

    /// <summary>Segment start in 10 ms steps.</summary>
    [LibraryImport(Library, EntryPoint = "whisper_full_get_segment_t0_from_state")]
    public static partial long SegmentStart(nint state, int segment);

    /// <summary>Segment end in 10 ms steps.</summary>
    [LibraryImport(Library, EntryPoint = "whisper_full_get_segment_t1_from_state")]
    public static partial long SegmentEnd(nint state, int segment);

    [LibraryImport(Library, EntryPoint = "whisper_full_get_segment_no_speech_prob_from_state")]
    public static partial float SegmentNoSpeechProbability(nint state, int segment);

    [LibraryImport(Library, EntryPoint = "whisper_full_n_tokens_from_state")]
    public static partial int TokenCount(nint state, int segment);

    [LibraryImport(Library, EntryPoint = "whisper_full_get_token_id_from_state")]
    public static partial int TokenId(nint state, int segment, int token);

    [LibraryImport(Library, EntryPoint = "whisper_full_get_token_p_from_state")]
    public static partial float TokenProbability(nint state, int segment, int token);

    /// <summary>The end-of-text token: ids from it up are special and timestamp tokens.</summary>
    [LibraryImport(Library, EntryPoint = "whisper_token_eot")]
    public static partial int EndOfTextToken(nint context);

    /// <summary>1 for a multilingual model, 0 for an English-only one (told apart by the vocabulary size).</summary>
    [LibraryImport(Library, EntryPoint = "whisper_is_multilingual")]
    public static partial int IsMultilingual(nint context);

    /// <summary>whisper.cpp's id of a language code or name ("de", "german"); -1 when it does not know it.</summary>
    [LibraryImport(Library, EntryPoint = "whisper_lang_id", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int LanguageId(string language);

    /// <summary>The instruction sets the loaded whisper.cpp build uses ("AVX2 = 1 | ... | OPENMP = 1"): static, owned by the library.</summary>
    [LibraryImport(Library, EntryPoint = "whisper_print_system_info")]
    public static partial byte* SystemInfo();

    /// <summary>Sets whisper.cpp's and ggml's log sink (<c>void (*)(int level, const char * text, void * user_data)</c>).</summary>
    [LibraryImport(Library, EntryPoint = "whisper_log_set")]
    public static partial void LogSet(delegate* unmanaged[Cdecl]<int, byte*, void*, void> callback, void* userData);
}
