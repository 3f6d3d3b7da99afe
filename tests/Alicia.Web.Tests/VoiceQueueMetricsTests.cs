using Alicia.Engine.Monitoring;
using Alicia.Voice;
using Alicia.Web;

namespace Alicia.Web.Tests;

/// <summary>The voice pipeline's speech-to-text and synthesis queues are gauges on the engine's meter, scraped on /metrics.</summary>
public sealed class VoiceQueueMetricsTests
{
    private static readonly HttpClient Http = new();

    private static string VadModelPath() => Path.Combine(Repository.Root, "models", "cache", "silero_vad_v5.onnx");

    [Fact]
    public async Task Metrics_show_the_speech_to_text_and_synthesis_queue_depths_of_a_running_voice_pipeline()
    {
        WebService web = null!;
        await using TestEngine test = await TestEngine.StartAsync(services: e => e
            .AddService(new VoiceService(new VoiceOptions { VadModelPath = VadModelPath(), MaxSessions = 1 }))
            .AddService(new MonitoringService())
            .AddService(web = new WebService(new WebOptions { Port = 0 })));

        PrometheusText scrape = PrometheusText.Parse(await Http.GetStringAsync(new Uri(web.Url!, "metrics")));

        // Nothing is being heard or spoken: both queues are empty (and exported as such, not missing).
        Assert.Contains(scrape.Samples, s => s.Name == "alicia_voice_stt_queue" && s.Value == 0);
        Assert.Contains(scrape.Samples, s => s.Name == "alicia_voice_synthesis_queue" && s.Value == 0);
    }
}
