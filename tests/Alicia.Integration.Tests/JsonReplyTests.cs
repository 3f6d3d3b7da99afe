using System.Globalization;
using System.Text.Json;
using Alicia.Engine.Hosting;
using Alicia.Engine.Security.Audit;
using Alicia.Engine.Security.Gateway;

namespace Alicia.Integration.Tests;

/// <summary>
/// Issue 10 B10: a JSON request gets a JSON reply, on the request's MQTT 5 response topic (with its correlation data)
/// when the requester's ACL lets it read that topic, else on the response type's topic. The requesters are
/// <c>mosquitto_rr</c> and <c>mosquitto_pub</c>/<c>mosquitto_sub</c> with passwords, through the security gateway,
/// sending unsigned JSON envelopes the gateway countersigns.
/// </summary>
public sealed class JsonReplyTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new("alicia-json-reply");
    private readonly PasswordDirectory _directory = new();
    private TestEngine _test = null!;
    private AuditLog _audit = null!;

    public async Task InitializeAsync()
    {
        // A wall panel (controller: may send API requests, reads alicia/integration/api/response) and an operator (admin: reads alicia/#).
        _directory.Add(new IdentityRecord("kitchen-panel", IdentityKind.Controller), "pw-panel");
        _directory.Add(new IdentityRecord("ops", IdentityKind.Service, "admin"), "pw-ops");
        _audit = new AuditLog(_dir.Sub("audit.db"));
        // The engine's local tools too (alicia-cli, password in the data directory), as 'alicia run' has them.
        _test = await TestEngine.StartAsync(services: e => e.AddService(new SecurityGateway(new GatewayOptions(),
            new IdentityDirectories(Alicia.Tools.LocalTools.Directory(_dir.Data), _directory), _audit)), directory: _dir);
    }

    public async Task DisposeAsync()
    {
        await _test.DisposeAsync();
        await _audit.DisposeAsync();
        _dir.Dispose();
    }

    private string[] As(string user, string password, string clientId) =>
        ["-V", "mqttv5", "-h", "127.0.0.1", "-p", _test.Port.ToString(CultureInfo.InvariantCulture), "-u", user, "-P", password, "-i", clientId];

    /// <summary>An unsigned JSON API request as a script writes it (the gateway countersigns it for the connection's identity).</summary>
    private string Request(string source, string operation) =>
        "{\"message_id\":\"" + Guid.NewGuid() + "\",\"timestamp\":\"" + DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)
        + "\",\"source\":\"" + source + "\",\"destination\":\"" + _test.Engine.Name + "\",\"message_type\":\"request\",\"payload\":{\"data\":{\"operation\":\"" + operation
        + "\"}},\"security\":{\"signature\":null}}";

    private static readonly string[] Json = ["-q", "1", "-D", "publish", "content-type", "application/json"];

    /// <summary>mosquitto_rr's answer line, printed as content type | correlation data | topic | payload.</summary>
    private static (string ContentType, string Correlation, string Topic, JsonElement Envelope) Parse(ProcessResult run)
    {
        string line = run.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? throw new Xunit.Sdk.XunitException("no reply: " + run.Output);
        string[] parts = line.Split('|', 4);
        Assert.True(parts.Length == 4, line);
        return (parts[0], parts[1], parts[2], JsonDocument.Parse(parts[3]).RootElement.Clone());
    }

    [Fact]
    public async Task Mosquitto_rr_gets_a_json_pong_with_its_correlation_data_on_the_response_topic_it_may_read()
    {
        ProcessResult run = await ChildProcess.RunAsync("mosquitto_rr", [.. As("kitchen-panel", "pw-panel", "kitchen-panel"), .. Json,
            "-D", "publish", "correlation-data", "panel-1", "-t", "alicia/integration/api/request", "-e", "alicia/integration/api/response",
            "-W", "15", "-F", "%C|%D|%t|%p", "-m", Request("kitchen-panel", "ping")], TimeSpan.FromSeconds(30));
        Assert.True(run.ExitCode == 0, run.Output);
        (string contentType, string correlation, string topic, JsonElement reply) = Parse(run);
        Assert.Equal("application/json", contentType);
        Assert.Equal("panel-1", correlation);
        Assert.Equal("alicia/integration/api/response", topic);
        Assert.Equal(_test.Engine.Name, reply.GetProperty("source").GetString());
        Assert.Equal("kitchen-panel", reply.GetProperty("destination").GetString());
        Assert.Equal("response", reply.GetProperty("message_type").GetString());
        JsonElement data = reply.GetProperty("payload").GetProperty("data");
        Assert.Equal(200, data.GetProperty("status").GetInt32());
        Assert.StartsWith($"pong from {_test.Engine.Name} to kitchen-panel", data.GetProperty("body").GetString(), StringComparison.Ordinal);
        Assert.NotEqual(JsonValueKind.Null, reply.GetProperty("security").GetProperty("signature").ValueKind); // signed by the engine
    }

    [Fact]
    public async Task A_response_topic_of_its_own_choosing_is_honoured_where_the_requesters_acl_lets_it_read()
    {
        // The operator reads alicia/#: its private reply topic is honoured (the reply once went to alicia/integration/api/response).
        ProcessResult run = await ChildProcess.RunAsync("mosquitto_rr", [.. As("ops", "pw-ops", "ops"), .. Json,
            "-D", "publish", "correlation-data", "ops-7", "-t", "alicia/integration/api/request", "-e", "alicia/replies/ops/7",
            "-W", "15", "-F", "%C|%D|%t|%p", "-m", Request("ops", "health")], TimeSpan.FromSeconds(30));
        Assert.True(run.ExitCode == 0, run.Output);
        (string contentType, string correlation, string topic, JsonElement reply) = Parse(run);
        Assert.Equal(("application/json", "ops-7", "alicia/replies/ops/7"), (contentType, correlation, topic));
        Assert.Equal(200, reply.GetProperty("payload").GetProperty("data").GetProperty("status").GetInt32());
    }

    /// <summary>The README's JSON request example (the sh block after its marker), on this engine's port and data directory.</summary>
    private string ReadmeExample()
    {
        string readme = File.ReadAllText(Path.Combine(Repository.Root, "README.md"));
        int marker = readme.IndexOf("<!-- json-request-example", StringComparison.Ordinal);
        Assert.True(marker >= 0, "README.md lost its JSON request example");
        int start = readme.IndexOf("```sh\n", marker, StringComparison.Ordinal) + 6;
        string script = readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
        Assert.Contains("-p 1883 ", script);
        Assert.Contains(".alicia/data/", script);
        return script.Replace("-p 1883 ", $"-p {_test.Port.ToString(CultureInfo.InvariantCulture)} ", StringComparison.Ordinal)
            .Replace(".alicia/data/", _dir.Data + "/", StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_readme_json_request_example_runs_as_written_and_prints_a_json_pong()
    {
        Assert.Equal("alicia-engine", _test.Engine.Name); // the README's destination
        ProcessResult run = await ChildProcess.RunAsync("bash", ["-euc", ReadmeExample()], TimeSpan.FromSeconds(30));
        Assert.True(run.ExitCode == 0, run.Output);
        using JsonDocument reply = JsonDocument.Parse(run.StandardOutput.Trim());
        Assert.Equal("alicia-cli", reply.RootElement.GetProperty("destination").GetString());
        Assert.Equal(200, reply.RootElement.GetProperty("payload").GetProperty("data").GetProperty("status").GetInt32());
        Assert.StartsWith("pong from alicia-engine to alicia-cli", reply.RootElement.GetProperty("payload").GetProperty("data").GetProperty("body").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_response_topic_the_requester_may_not_read_or_that_belongs_to_another_message_falls_back_to_the_usual_reply_topic()
    {
        // The panel may not read alicia/replies/..., and nobody may make the engine sign a reply onto a device's command topic.
        await using MosquittoSubscriber usual = await MosquittoClients.SubscribeAsync([.. As("kitchen-panel", "pw-panel", "kitchen-panel:sub"),
            "-t", "alicia/integration/api/response", "-F", "%C|%D|%t|%p"]);
        await using MosquittoSubscriber watcher = await MosquittoClients.SubscribeAsync([.. As("ops", "pw-ops", "ops:watch"),
            "-t", "alicia/replies/#", "-t", "alicia/devices/+/command", "-F", "%C|%D|%t|%p"]);
        foreach ((string asked, string correlation) in new[] { ("alicia/replies/panel", "c-1"), ("alicia/devices/porch-light/command", "c-2") })
        {
            ProcessResult sent = await MosquittoClients.PublishAsync([.. As("kitchen-panel", "pw-panel", "kitchen-panel"), .. Json,
                "-D", "publish", "response-topic", asked, "-D", "publish", "correlation-data", correlation,
                "-t", "alicia/integration/api/request", "-m", Request("kitchen-panel", "ping")]);
            Assert.True(sent.ExitCode == 0 && !sent.Output.Contains("failed", StringComparison.Ordinal), sent.Output);
            string line = await usual.WaitForLineAsync(l => l.StartsWith($"application/json|{correlation}|", StringComparison.Ordinal));
            Assert.Contains("|alicia/integration/api/response|", line);
        }
        // Each request has one reply, and both came on the usual topic. A last reply the operator asked for on
        // alicia/replies/marker, after them, shows the watcher was listening all along.
        ProcessResult marker = await MosquittoClients.PublishAsync([.. As("ops", "pw-ops", "ops"), .. Json,
            "-D", "publish", "response-topic", "alicia/replies/marker", "-D", "publish", "correlation-data", "m-1",
            "-t", "alicia/integration/api/request", "-m", Request("ops", "ping")]);
        Assert.True(marker.ExitCode == 0, marker.Output);
        await watcher.WaitForLineAsync(l => l.StartsWith("application/json|m-1|alicia/replies/marker|", StringComparison.Ordinal));
        Assert.DoesNotContain("|c-1|", watcher.Log);
        Assert.DoesNotContain("|c-2|", watcher.Log);
    }
}
