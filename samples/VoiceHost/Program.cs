using Alicia.Engine.Hosting;
using Alicia.Voice;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using VoiceHost;

// An Alicia host with voice: the engine with its embedded MQTT 5 broker, the voice service (audio sessions, Silero VAD
// on ONNX Runtime, Whisper on whisper.cpp) and a request/response pair of its own. It checks the voice service and
// exchanges signed messages with a satellite, then stops (VoiceCheck).
//
//   dotnet run -- --Voice:VadModelPath=../../models/cache/silero_vad_v5.onnx          (scripts/fetch-models.sh)
//   dotnet run -- --Voice:VadModelPath=... --Voice:WhisperModelPath=ggml-tiny.en.bin   (speech to text too)
HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
builder.Services
    .AddAlicia(o =>
    {
        o.Name = "voice-host";
        o.Broker.ListenAddress = "127.0.0.1";
        o.Broker.Port = 0; // 0: a free port (Alicia's own default is MQTT's 1883)
        builder.Configuration.GetSection("Alicia").Bind(o); // then appsettings.json, ALICIA__..., --Alicia:...
    })
    .AddMessages(AliciaMessageSet.Instance) // generated for this assembly from its [AliciaMessage] types
    .AddVoice(v =>
    {
        v.ListenAddress = "127.0.0.1";
        v.AudioPort = 0; // a free port for audio streams
        builder.Configuration.GetSection("Voice").Bind(v); // VadModelPath, WhisperModelPath, ...
    });
builder.Services.AddHostedService<VoiceCheck>();

using IHost host = builder.Build();
await host.RunAsync();
return Environment.ExitCode;
