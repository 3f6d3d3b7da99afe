using System.Runtime.InteropServices;

namespace Alicia.Voice.Speech.Espeak;

/// <summary>
/// The few entry points of libespeak-ng.so.1 (Debian's libespeak-ng1, 1.51) that Alicia uses: initialise, pick a voice,
/// text to IPA phonemes (Piper's input) and synthesis into a callback. Source-generated marshalling (AOT-clean).
/// </summary>
internal static unsafe partial class EspeakNative
{
    public const string Library = "libespeak-ng.so.1";

    /// <summary><c>AUDIO_OUTPUT_SYNCHRONOUS</c>: <c>espeak_Synth</c> returns when the text is spoken into the callback.</summary>
    public const int AudioOutputSynchronous = 2;

    /// <summary><c>espeakINITIALIZE_DONT_EXIT</c>: report a missing data directory instead of exiting the process.</summary>
    public const int InitializeDontExit = 0x8000;

    /// <summary><c>espeakCHARS_UTF8</c>.</summary>
    public const int CharsUtf8 = 1;

    /// <summary><c>espeakPHONEMES_IPA</c>.</summary>
    public const int PhonemesIpa = 0x02;

    /// <summary><c>POS_CHARACTER</c>.</summary>
    public const int PositionCharacter = 1;

    /// <summary><c>espeakRATE</c> (words per minute), <c>espeakVOLUME</c>, <c>espeakPITCH</c> (0-100).</summary>
    public const int ParameterRate = 1, ParameterVolume = 2, ParameterPitch = 3;

    /// <summary>Returns the sample rate, or -1 on failure.</summary>
    [LibraryImport(Library, EntryPoint = "espeak_Initialize")]
    public static partial int Initialize(int output, int bufferLengthMs, byte* path, int options);

    [LibraryImport(Library, EntryPoint = "espeak_SetVoiceByName", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SetVoiceByName(string name);

    [LibraryImport(Library, EntryPoint = "espeak_SetParameter")]
    public static partial int SetParameter(int parameter, int value, int relative);

    /// <summary>Phonemes of the next clause of <c>*text</c>; advances <c>*text</c> past it (null at the end).</summary>
    [LibraryImport(Library, EntryPoint = "espeak_TextToPhonemes")]
    public static partial byte* TextToPhonemes(byte** text, int textMode, int phonemeMode);

    /// <summary>The callback: <c>int cb(short* wav, int samples, espeak_EVENT* events)</c>; returning 1 aborts the synthesis.</summary>
    [LibraryImport(Library, EntryPoint = "espeak_SetSynthCallback")]
    public static partial void SetSynthCallback(delegate* unmanaged[Cdecl]<short*, int, nint, int> callback);

    [LibraryImport(Library, EntryPoint = "espeak_Synth")]
    public static partial int Synth(byte* text, nuint size, uint position, int positionType, uint endPosition, uint flags, uint* uniqueIdentifier, nint userData);
}
