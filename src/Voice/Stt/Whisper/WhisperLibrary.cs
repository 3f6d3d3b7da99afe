using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Alicia.Voice.Stt.Whisper;

/// <summary>
/// Loads whisper.cpp from Whisper.net.Runtime's libraries, which the build copies beside the application
/// (see Alicia.Engine.csproj), and points <see cref="WhisperNative"/>'s imports at them. Only AOT-safe
/// calls: <see cref="AppContext.BaseDirectory"/>, <see cref="NativeLibrary"/>, CPUID.
/// </summary>
internal static unsafe class WhisperLibrary
{
    public const string Name = "libwhisper";

    // The libraries name each other by soname (libggml-whisper.so.0, ...) with no $ORIGIN runpath, and the
    // package ships them without the ".0": loaded by full path in dependency order, the loader then finds
    // every dependency among the already loaded ones.
    private static readonly string[] LoadOrder = ["ggml-base-whisper", "ggml-cpu-whisper", "ggml-whisper", "whisper"];

    private const int LogLevelError = 4; // ggml_log_level: GGML_LOG_LEVEL_ERROR

    private static readonly Lock Gate = new();
    private static nint s_whisper;

    /// <summary>Loads the libraries once. Throws <see cref="DllNotFoundException"/> or <see cref="PlatformNotSupportedException"/> with the reason.</summary>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (s_whisper != 0) return;
            RequireCpuFeatures();
            nint handle = 0;
            foreach (string library in LoadOrder)
            {
                string path = Path.Combine(AppContext.BaseDirectory, FileName(library));
                if (!NativeLibrary.TryLoad(path, out handle))
                    throw new DllNotFoundException($"whisper.cpp library {path} is missing or does not load (it comes from the Whisper.net.Runtime package, copied beside the application by the build)");
            }
            s_whisper = handle;
            NativeLibrary.SetDllImportResolver(typeof(WhisperLibrary).Assembly, (name, _, _) => name == Name ? s_whisper : 0);
            WhisperNative.LogSet(&OnLog, null);
        }
    }

    /// <summary>What the shipped whisper.cpp build was compiled to use (ggml's system-info string), for benchmark reports.</summary>
    public static string SystemInfo()
    {
        EnsureLoaded();
        return Marshal.PtrToStringUTF8((nint)WhisperNative.SystemInfo())?.Trim() ?? "";
    }

    private static string FileName(string library) =>
        OperatingSystem.IsWindows() ? library + ".dll" : OperatingSystem.IsMacOS() ? "lib" + library + ".dylib" : "lib" + library + ".so";

    /// <summary>
    /// The x64 build of whisper.cpp in Whisper.net.Runtime is compiled for AVX2, FMA and F16C: without them it
    /// dies of an illegal instruction, so refuse up front. CPUID rather than <c>Avx2.IsSupported</c>, which a
    /// Native-AOT binary built for the baseline instruction set answers false whatever the CPU.
    /// </summary>
    private static void RequireCpuFeatures()
    {
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64 || !X86Base.IsSupported) return;
        (_, _, int ecx1, _) = X86Base.CpuId(1, 0);
        (_, int ebx7, _, _) = X86Base.CpuId(7, 0);
        bool fma = (ecx1 & (1 << 12)) != 0, osSavesAvx = (ecx1 & (1 << 27)) != 0, avx = (ecx1 & (1 << 28)) != 0, f16c = (ecx1 & (1 << 29)) != 0;
        bool avx2 = (ebx7 & (1 << 5)) != 0;
        if (!(fma && osSavesAvx && avx && f16c && avx2))
            throw new PlatformNotSupportedException("whisper.cpp (Whisper.net.Runtime, x64) needs a CPU with AVX2, FMA and F16C");
    }

    // whisper.cpp and ggml log model details on every load; only errors are worth a line on stderr.
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnLog(int level, byte* text, void* userData)
    {
        if (level == LogLevelError && text is not null) Console.Error.Write("whisper.cpp: " + Marshal.PtrToStringUTF8((nint)text));
    }
}
