using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Alicia.Host.Commands;

namespace Alicia.Host.Tests;

/// <summary>
/// <c>alicia models pull</c> against a loopback HTTP server standing in for the model hub (unreachable from
/// these machines): a download is kept only when its SHA-256 is the manifest's.
/// </summary>
public sealed class ModelsCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "alicia-models-" + Guid.NewGuid().ToString("N"));
    private readonly byte[] _model = RandomNumberGenerator.GetBytes(100_000);

    public ModelsCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await Cli.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Serves <see cref="_model"/> for every request until disposed.</summary>
    private sealed class Hub : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _serving;

        public Hub(byte[] body)
        {
            int port = FreePort();
            Url = $"http://127.0.0.1:{port}/ggml-test.bin";
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            _listener.Start();
            _serving = Task.Run(async () =>
            {
                while (_listener.IsListening)
                {
                    HttpListenerContext context;
                    try { context = await _listener.GetContextAsync(); }
                    catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { return; }
                    context.Response.ContentLength64 = body.Length;
                    await context.Response.OutputStream.WriteAsync(body);
                    context.Response.Close();
                }
            });
        }

        public string Url { get; }

        private static int FreePort()
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            return ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _serving.Wait(TimeSpan.FromSeconds(5));
        }
    }

    private string Manifest(string url, string? sha256)
    {
        string path = Path.Combine(_dir, "manifest.json");
        using (FileStream file = File.Create(path))
        using (var json = new Utf8JsonWriter(file))
        {
            json.WriteStartObject();
            json.WriteStartArray("models");
            json.WriteStartObject();
            json.WriteString("name", "whisper-test");
            json.WriteString("file", "ggml-test.bin");
            json.WriteString("url", url);
            json.WriteString("sha256", sha256);
            json.WriteString("licence", "MIT");
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return path;
    }

    [Fact]
    public async Task A_download_with_the_manifest_sum_is_kept_and_a_second_pull_only_checks_it()
    {
        using var hub = new Hub(_model);
        string manifest = Manifest(hub.Url, Convert.ToHexStringLower(SHA256.HashData(_model)));

        (int code, string output, string error) = await Run("models", "pull", "--manifest", manifest);
        Assert.True(code == 0, error);
        Assert.Equal(_model, File.ReadAllBytes(Path.Combine(_dir, "cache", "ggml-test.bin")));

        (code, output, _) = await Run("models", "pull", "--manifest", manifest);
        Assert.Equal(0, code);
        Assert.Contains("present, SHA-256 ok", output);
    }

    [Fact]
    public async Task A_download_whose_sum_differs_is_discarded_with_the_reason()
    {
        using var hub = new Hub(_model);
        string manifest = Manifest(hub.Url, new string('0', 64));

        (int code, _, string error) = await Run("models", "pull", "--manifest", manifest);

        Assert.Equal(1, code);
        Assert.Contains($"does not match the expected {new string('0', 64)}; the download was discarded", error);
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "cache")));
    }

    [Fact]
    public void The_repository_manifest_pins_a_sha256_for_every_model()
    {
        string root = Repository.Root;
        using JsonDocument manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(root, "models", "manifest.json")));
        foreach (JsonElement model in manifest.RootElement.GetProperty("models").EnumerateArray())
        {
            string name = model.GetProperty("name").GetString()!;
            Assert.True(model.GetProperty("sha256").ValueKind == JsonValueKind.String, $"{name} has no SHA-256");
            Assert.Matches("^[0-9a-f]{64}$", model.GetProperty("sha256").GetString()!);
            Assert.False(string.IsNullOrEmpty(model.GetProperty("licence").GetString()), $"{name} has no licence");
        }
    }
}
