using System.Globalization;
using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;

namespace Alicia.Engine.Hosting;

/// <summary>The engine's request/response API on <c>alicia/integration/api/request</c>.</summary>
internal sealed class ApiService(AliciaEngine engine, TimeProvider clock)
{
    public ValueTask<ApiResponse> HandleAsync(BusMessage<ApiRequest> request, CancellationToken cancellationToken)
    {
        ApiResponse response = request.Data.Operation switch
        {
            "ping" => new ApiResponse { Status = 200, Body = $"pong from {engine.Name} to {request.Source} at {clock.GetUtcNow():O}" },
            "health" => Health(),
            _ => new ApiResponse { Status = 404, Body = $"unknown operation '{request.Data.Operation}' (known: ping, health)" },
        };
        return ValueTask.FromResult(response);
    }

    private ApiResponse Health()
    {
        ServiceHealth health = engine.Health();
        string metrics = string.Join(", ", health.Metrics.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key}={kv.Value:0.##}")));
        return new ApiResponse { Status = 200, Body = $"{health.Service} {health.Status.ToString().ToLowerInvariant()}: {metrics}" };
    }
}
