using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Alicia.Tools.Audio;

/// <summary>
/// The few calls of ALSA's PCM API (<c>libasound.so.2</c>, Debian's <c>libasound2</c>) that play interleaved s16le:
/// open, set_params, writei, recover, drain, close. Source-generated marshalling (no reflection: Native-AOT clean).
/// </summary>
internal static unsafe partial class AlsaNative
{
    public const string Library = "libasound.so.2";
    public const int StreamPlayback = 0;
    public const int FormatS16Le = 2;
    public const int AccessRwInterleaved = 3;

    [LibraryImport(Library, EntryPoint = "snd_pcm_open", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(out nint pcm, string name, int stream, int mode);

    [LibraryImport(Library, EntryPoint = "snd_pcm_set_params")]
    public static partial int SetParams(nint pcm, int format, int access, uint channels, uint rate, int softResample, uint latencyMicroseconds);

    /// <summary>Frames written, or a negative errno (<c>-EPIPE</c>: underrun).</summary>
    [LibraryImport(Library, EntryPoint = "snd_pcm_writei")]
    public static partial nint WriteInterleaved(nint pcm, byte* buffer, nuint frames);

    [LibraryImport(Library, EntryPoint = "snd_pcm_recover")]
    public static partial int Recover(nint pcm, int error, int silent);

    [LibraryImport(Library, EntryPoint = "snd_pcm_drain")]
    public static partial int Drain(nint pcm);

    [LibraryImport(Library, EntryPoint = "snd_pcm_close")]
    public static partial int Close(nint pcm);

    [LibraryImport(Library, EntryPoint = "snd_strerror")]
    public static partial byte* StrError(int error);

    [LibraryImport(Library, EntryPoint = "snd_lib_error_set_handler")]
    public static partial int SetErrorHandler(delegate* unmanaged[Cdecl]<byte*, int, byte*, int, byte*, void> handler);

    public static string Describe(int error) => Marshal.PtrToStringUTF8((nint)StrError(error)) ?? $"error {error}";

    /// <summary>
    /// ALSA prints every failed lookup of its configuration on stderr ("ALSA lib confmisc.c ... cannot find card '0'"):
    /// the caller reports the failure once, in its own words. The handler is variadic in C; the arguments after the
    /// format are ignored, which the x64 and arm64 Linux calling conventions allow.
    /// </summary>
    public static void QuietErrors() => SetErrorHandler(&Ignore);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Ignore(byte* file, int line, byte* function, int error, byte* format)
    {
    }
}
