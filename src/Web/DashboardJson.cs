using System.Text.Json;
using System.Text.Json.Serialization;
using Alicia.Contracts.Messages;

namespace Alicia.Web;

/// <summary>A device as the dashboard lists it.</summary>
internal sealed record DeviceView(string Id, string Type, string Location, string State, DateTimeOffset LastSeen, string[] Capabilities);

/// <summary>A voice request's trace: each stage with its start offset and duration (a waterfall).</summary>
internal sealed record TraceView(string SessionId, string DeviceId, int Utterance, string Text, string Status, DateTimeOffset At, double TotalMs, string TraceId, StageView[] Stages)
{
    /// <summary>True when the stages are the request's recorded spans (voice, assistant); false when rebuilt from its transcript's timings.</summary>
    public bool FromSpans { get; init; }
}

internal sealed record StageView(string Name, double StartMs, double DurationMs);

/// <summary>Everything the page shows, sent whole when it connects.</summary>
internal sealed record DashboardSnapshot(string Engine, SystemHealth Health, DeviceView[] Devices, AlertNotice[] Alerts, TraceView[] Traces, MetricsView Metrics);

/// <summary>The counters the page charts (sent with each health update).</summary>
internal sealed record MetricsView(long Accepted, long Published, long Rejected, long Qos0Dropped, long Connections);

internal sealed record ReadinessView(bool Ready, Dictionary<string, string> Checks);

/// <summary>Source-generated JSON (Native AOT: no reflection).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true)]
[JsonSerializable(typeof(DashboardSnapshot))]
[JsonSerializable(typeof(DeviceView[]))]
[JsonSerializable(typeof(TraceView))]
[JsonSerializable(typeof(AlertNotice))]
[JsonSerializable(typeof(SystemHealth))]
[JsonSerializable(typeof(MetricsView))]
[JsonSerializable(typeof(ReadinessView))]
internal sealed partial class DashboardJsonContext : JsonSerializerContext;
