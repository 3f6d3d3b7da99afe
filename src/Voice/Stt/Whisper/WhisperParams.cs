using System.Runtime.InteropServices;

namespace Alicia.Voice.Stt.Whisper;

// The two parameter structs of whisper.h as built into Whisper.net.Runtime 1.9.1 (whisper.cpp 1.8.5), field
// for field, passed by value. C bool is one byte; the comments give the x64/arm64 offsets. A layout that drifts
// from the native library corrupts every call, so SttNativeLayoutTests (Alicia.Voice.Tests) checks sizes, offsets and the
// native defaults read through these structs: update both together when the runtime package changes.

[StructLayout(LayoutKind.Sequential)]
internal struct WhisperContextParams
{
    public byte UseGpu;                 // 0
    public byte FlashAttention;         // 1
    public int GpuDevice;               // 4
    public byte DtwTokenTimestamps;     // 8
    public int DtwAheadsPreset;         // 12
    public int DtwTopLayers;            // 16
    public nuint DtwAheadsCount;        // 24
    public nint DtwAheads;              // 32
    public nuint DtwMemorySize;         // 40; size 48
}

[StructLayout(LayoutKind.Sequential)]
internal struct WhisperFullParams
{
    public int Strategy;                // 0: 0 greedy, 1 beam search
    public int Threads;                 // 4
    public int MaxTextContext;          // 8
    public int OffsetMs;                // 12
    public int DurationMs;              // 16
    public byte Translate;              // 20
    public byte NoContext;              // 21
    public byte NoTimestamps;           // 22
    public byte SingleSegment;          // 23
    public byte PrintSpecial;           // 24
    public byte PrintProgress;          // 25
    public byte PrintRealtime;          // 26
    public byte PrintTimestamps;        // 27
    public byte TokenTimestamps;        // 28
    public float TimestampThreshold;    // 32
    public float TimestampSumThreshold; // 36
    public int MaxLength;               // 40
    public byte SplitOnWord;            // 44
    public int MaxTokens;               // 48
    public byte DebugMode;              // 52
    public int AudioContext;            // 56
    public byte TinyDiarize;            // 60
    public nint SuppressRegex;          // 64
    public nint InitialPrompt;          // 72
    public byte CarryInitialPrompt;     // 80
    public nint PromptTokens;           // 88
    public int PromptTokenCount;        // 96
    public nint Language;               // 104
    public byte DetectLanguage;         // 112
    public byte SuppressBlank;          // 113
    public byte SuppressNonSpeech;      // 114
    public float Temperature;           // 116
    public float MaxInitialTimestamp;   // 120
    public float LengthPenalty;         // 124
    public float TemperatureIncrement;  // 128
    public float EntropyThreshold;      // 132
    public float LogProbThreshold;      // 136
    public float NoSpeechThreshold;     // 140
    public int GreedyBestOf;            // 144
    public int BeamSize;                // 148
    public float BeamPatience;          // 152
    public nint NewSegmentCallback;     // 160
    public nint NewSegmentUserData;     // 168
    public nint ProgressCallback;       // 176
    public nint ProgressUserData;       // 184
    public nint EncoderBeginCallback;   // 192
    public nint EncoderBeginUserData;   // 200
    public nint AbortCallback;          // 208: bool (*)(void * user_data), polled during every ggml computation
    public nint AbortUserData;          // 216
    public nint LogitsFilterCallback;   // 224
    public nint LogitsFilterUserData;   // 232
    public nint GrammarRules;           // 240
    public nuint GrammarRuleCount;      // 248
    public nuint GrammarStartRule;      // 256
    public float GrammarPenalty;        // 264
    public byte Vad;                    // 268
    public nint VadModelPath;           // 272
    public float VadThreshold;          // 280
    public int VadMinSpeechMs;          // 284
    public int VadMinSilenceMs;         // 288
    public float VadMaxSpeechSeconds;   // 292
    public int VadSpeechPadMs;          // 296
    public float VadSamplesOverlap;     // 300; size 304
}
