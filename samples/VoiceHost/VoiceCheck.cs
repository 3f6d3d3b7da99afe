using System.Net;
using Alicia.Contracts;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security;
using Alicia.Voice;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace VoiceHost;

/// <summary>
/// Runs once the engine and its voice service have started: checks the voice service listens for audio, answers
/// our own <see cref="VoiceStatusRequest"/>s on the engine's bus, and lets a satellite with its own Ed25519 key ask
/// for it and for a voice session, both signed and verified both ways. Then it stops the application: exit code
/// 0 when all of that worked, 1 otherwise.
/// </summary>
internal sealed class VoiceCheck(AliciaEngine engine, VoiceService voice, IOptions<VoiceSettings> settings,
    IHostApplicationLifetime lifetime, ILogger<VoiceCheck> logger) : BackgroundService
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await CheckAsync(stoppingToken);
            Console.WriteLine("voice-host: voice checks passed; stopping");
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            logger.LogError(e, "voice-host: the voice checks failed");
            Environment.ExitCode = 1;
        }
        finally
        {
            lifetime.StopApplication();
        }
    }

    private async Task CheckAsync(CancellationToken ct)
    {
        BrokerEndpoint endpoint = engine.ClientEndpoint ?? throw new InvalidOperationException("the embedded broker has no TCP listener");

        // Without the Silero VAD model the engine still starts, with voice off: that is a failure here.
        IPEndPoint audio = voice.AudioEndPoint
            ?? throw new InvalidOperationException("the voice service is not listening: is the Silero VAD model there? (Voice:VadModelPath; scripts/fetch-models.sh)");
        string[] stt = [.. voice.SpeechToTextEngines];
        Console.WriteLine($"voice-host: engine '{engine.Name}' on {endpoint}; voice listening for audio on {audio}; VAD {(settings.Value.VadModelPath.Length > 0 ? settings.Value.VadModelPath : "models/cache/silero_vad_v5.onnx, found up from the working directory")}; " +
                          $"speech to text: {(stt.Length == 0 ? "none (no Whisper model: VAD segments only)" : string.Join(", ", stt))}");
        // A Whisper model was given but no engine runs: whisper.cpp did not load (its libraries, or the CPU).
        if (settings.Value.WhisperModelPath.Length > 0 && stt.Length == 0)
            throw new InvalidOperationException($"Whisper model {settings.Value.WhisperModelPath} was given, but no speech-to-text engine started (see the log above)");

        // Our own request/response pair, served by the engine's bus (it dispatches this assembly's message set too).
        await using IAsyncDisposable responder = await engine.Bus.RespondAsync<VoiceStatusRequest, VoiceStatus>((request, _) =>
        {
            Console.WriteLine($"voice-host: status asked by {request.Source} (for '{request.Data.Satellite}', signature verified)");
            return ValueTask.FromResult(new VoiceStatus { AudioEndpoint = audio.ToString(), SttEngines = [.. stt], ActiveSessions = voice.ActiveSessions });
        }, cancellationToken: ct);

        // A satellite with a key of its own in the engine's key directory (the engine trusts every public key there).
        // Its bus dispatches Alicia's messages and ours: it receives a VoiceStatus response.
        using SigningIdentity satellite = engine.Keys.Load("kitchen-satellite", createIfMissing: true);
        await using AliciaBus client = await AliciaBus.ConnectAsync(endpoint, satellite, new EnvelopeVerifier(new TrustStore(engine.Keys)),
            messages: MessageSet.Combine([AliciaMessageSet.Instance]), cancellationToken: ct);

        BusMessage<VoiceStatus> status = await client.RequestAsync<VoiceStatusRequest, VoiceStatus>(
            new VoiceStatusRequest { Satellite = satellite.Name }, engine.Name, timeout: Timeout, cancellationToken: ct);
        Console.WriteLine($"received signed VoiceStatus from {status.Source}: audio on {status.Data.AudioEndpoint}, " +
                          $"speech to text [{string.Join(", ", status.Data.SttEngines)}], {status.Data.ActiveSessions} active sessions");

        // Alicia's own voice session request, as a satellite makes it before streaming audio.
        BusMessage<VoiceSessionResponse> session = await client.RequestAsync<VoiceSessionRequest, VoiceSessionResponse>(
            new VoiceSessionRequest { DeviceId = satellite.Name, Language = "en" }, engine.Name, timeout: Timeout, cancellationToken: ct);
        if (!session.Data.Accepted) throw new InvalidOperationException($"the voice session was refused: {session.Data.Error}");
        Console.WriteLine($"received signed VoiceSessionResponse from {session.Source}: session {session.Data.SessionId}, stream to {session.Data.Endpoint} " +
                          $"or {session.Data.WebSocketEndpoint}, speech to text '{session.Data.SttEngine}'");
        if (stt.Length > 0 && session.Data.SttEngine.Length == 0) throw new InvalidOperationException("the session has no speech-to-text engine");
    }
}
