namespace Alicia.Contracts.Messages;

[AliciaMessage("alicia/integration/ha/state", Kind = MessageKind.Event)]
public sealed partial class HaState
{
    public string EntityId { get; set; } = "";
    public string State { get; set; } = "";
    public Dictionary<string, string> Attributes { get; set; } = [];
}

[AliciaMessage("alicia/integration/ha/command", Kind = MessageKind.Command)]
public sealed partial class HaCommand
{
    public string EntityId { get; set; } = "";
    public string Service { get; set; } = "";
    public Dictionary<string, string> Data { get; set; } = [];
}

[AliciaMessage("alicia/integration/api/request", Kind = MessageKind.Request)]
public sealed partial class ApiRequest
{
    /// <summary>The operation, e.g. <c>ping</c>, <c>devices.list</c>.</summary>
    public string Operation { get; set; } = "";
    public Dictionary<string, string> Arguments { get; set; } = [];
}

[AliciaMessage("alicia/integration/api/response", Kind = MessageKind.Response)]
public sealed partial class ApiResponse
{
    /// <summary>HTTP-like status: 200 ok, 400 bad request, 404 unknown, 503 busy.</summary>
    public int Status { get; set; }
    public string Body { get; set; } = "";
}

[AliciaMessage("alicia/integration/data/persist", Kind = MessageKind.Command)]
public sealed partial class PersistRecord
{
    public string Collection { get; set; } = "";
    public string Key { get; set; } = "";
    public byte[] Value { get; set; } = [];
}

[AliciaMessage("alicia/integration/analytics/event", Kind = MessageKind.Event)]
public sealed partial class AnalyticsEvent
{
    public string Name { get; set; } = "";
    public DateTimeOffset OccurredAt { get; set; }
    public Dictionary<string, string> Properties { get; set; } = [];
}
