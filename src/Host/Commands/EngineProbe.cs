using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;

namespace Alicia.Host.Commands;

/// <summary>
/// Is an Alicia engine with this configuration's name already on its broker? <c>alicia run</c> asks before it
/// connects to an external broker and when its port is taken, because a second engine with the same name
/// uses the same MQTT client id and would take over the running engine's session.
/// </summary>
internal static class EngineProbe
{
    /// <summary>
    /// Sends a signed ping to <see cref="AliciaEngineOptions.Name"/> on the configured broker (the external one, or
    /// the embedded broker's address), as <c>alicia ping</c> does (the local tool identity, with its password when
    /// this user can read the data directory); the answer when that engine answered within <paramref name="timeout"/>,
    /// null when nobody did or the broker could not be asked.
    /// </summary>
    public static async Task<string?> FindAsync(AliciaEngineOptions options, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        BusClient? client;
        try
        {
            client = await BusClient.ConnectAsync("run", options, Alicia.Tools.LocalTools.Cli, timeout, TextWriter.Null, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null;
        }
        if (client is null) return null;
        await using (client.ConfigureAwait(false))
        {
            try
            {
                BusMessage<ApiResponse> reply = await client.Bus.RequestAsync<ApiRequest, ApiResponse>(
                    new ApiRequest { Operation = "ping" }, options.Name, timeout: timeout, cancellationToken: cts.Token).ConfigureAwait(false);
                return reply.Source == options.Name ? reply.Data.Body : null;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return null; // no answer, or the broker refused the request: no evidence of a running engine
            }
        }
    }

    /// <summary>A connection failure with its cause (a refused CONNACK says why).</summary>
    public static string Describe(Exception e) =>
        e.InnerException is { } inner && !e.Message.Contains(inner.Message, StringComparison.Ordinal) ? $"{e.Message} ({inner.Message})" : e.Message;
}
