using Alicia.Tools.Models;
using System.CommandLine;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using Alicia.Voice.Stt;

namespace Alicia.Host.Commands;

/// <summary>
/// <c>alicia models list|pull</c>: the real models of <c>models/manifest.json</c>, downloaded into
/// <c>models/cache/</c> and checked against their SHA-256 (a mismatch discards the download). A manifest entry
/// without a sum (a model added before its sum is confirmed) is pulled, its sum printed and recorded beside
/// it, and checked on later pulls.
/// </summary>
internal static class ModelsCommand
{
    private sealed record Model(string Name, string File, string Url, string? Sha256, string Licence);

    internal static Command Create(CliContext cli)
    {
        var manifest = new Option<string>("--manifest") { Description = "The model manifest", HelpName = "FILE", DefaultValueFactory = _ => Path.Combine("models", "manifest.json") };
        var dir = new Option<string>("--dir") { Description = "Where models go (default: cache/ beside the manifest)", HelpName = "DIR" };

        var list = new Command("list", "The manifest's models: file, whether pulled, SHA-256, licence") { manifest, dir };
        list.SetAction(result => List(cli, result.GetValue(manifest)!, result.GetValue(dir)));

        var names = new Argument<string[]>("name") { Description = "Models to pull (default: all)", Arity = ArgumentArity.ZeroOrMore };
        var pull = new Command("pull", "Download the manifest's models and verify their SHA-256 (npm: URLs are taken with `npm pack`); a mismatch discards the download") { names, manifest, dir };
        pull.SetAction((result, _) => PullAsync(cli, result.GetValue(manifest)!, result.GetValue(dir), result.GetValue(names) ?? []));

        var file = new Argument<string>("file") { Description = "Where to write the model" };
        var size = CommonOptions.OneOf("--size", "micro (~8 MB, default) or tiny (tiny.en's dimensions, ~75 MB)", "micro", "micro", "tiny");
        var weights = CommonOptions.OneOf("--weights", "f16 (default), q8_0 or q5_1 (ggml's quantized blocks, as the published quantized models)", "f16", "f16", "q8_0", "q5_1");
        var random = new Command("random", "Write a random-weight Whisper ggml model: meaningless transcripts, for smoke tests of the speech-to-text path") { file, size, weights };
        random.SetAction(result => WriteRandom(cli, result.GetValue(file)!, result.GetValue(size)!, result.GetValue(weights)!));

        return new Command("models", "The models of the manifest (models/manifest.json)") { list, pull, random };
    }

    private static string CacheOf(string manifestPath, string? dir) =>
        dir ?? Path.Combine(Path.GetDirectoryName(manifestPath) is { Length: > 0 } d ? d : ".", "cache");

    private static List<Model>? TryLoad(CliContext cli, string manifestPath)
    {
        try { return Load(manifestPath); }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException or UnauthorizedAccessException)
        {
            cli.Err.WriteLine($"alicia models: cannot read the manifest {manifestPath}: {e.Message}");
            return null;
        }
    }

    private static int List(CliContext cli, string manifestPath, string? dir)
    {
        if (TryLoad(cli, manifestPath) is not { } models) return Cli.Failed;
        string cache = CacheOf(manifestPath, dir);
        foreach (Model m in models)
        {
            string path = Path.Combine(cache, m.File);
            string state = File.Exists(path) ? "present" : "not pulled";
            cli.Out.WriteLine($"{m.Name,-18} {m.File,-22} {state,-10} sha256 {m.Sha256 ?? "(to be verified on first pull)"}  {m.Licence}");
        }
        return Cli.Ok;
    }

    private static async Task<int> PullAsync(CliContext cli, string manifestPath, string? dir, string[] names)
    {
        if (TryLoad(cli, manifestPath) is not { } models) return Cli.Failed;
        foreach (string name in names)
        {
            if (models.All(m => m.Name != name))
            {
                cli.Err.WriteLine($"alicia models pull: no model '{name}' in {manifestPath} (have: {string.Join(", ", models.Select(m => m.Name))})");
                return Cli.Usage;
            }
        }
        string cache = CacheOf(manifestPath, dir);
        List<Model> wanted = names.Length == 0 ? models : [.. models.Where(m => names.Contains(m.Name))];
        Directory.CreateDirectory(cache);
        int failed = 0;
        foreach (Model m in wanted)
        {
            try { await PullAsync(m, cache, cli.Out).ConfigureAwait(false); }
            catch (Exception e) when (e is IOException or HttpRequestException or InvalidDataException or TaskCanceledException or System.ComponentModel.Win32Exception)
            {
                cli.Err.WriteLine($"alicia models: {m.Name}: {e.Message}");
                failed++;
            }
        }
        return failed == 0 ? Cli.Ok : Cli.Failed;
    }

    private static int WriteRandom(CliContext cli, string path, string size, string weights)
    {
        WhisperDimensions dimensions = (size == "tiny" ? WhisperDimensions.TinyEn : WhisperDimensions.Micro) with
        {
            Weights = weights switch { "q8_0" => WhisperWeights.Q8_0, "q5_1" => WhisperWeights.Q5_1, _ => WhisperWeights.F16 },
        };
        RandomWhisperModel.Write(path, dimensions);
        cli.Out.WriteLine($"{path}: random-weight Whisper model ({size}, {weights}, {new FileInfo(path).Length / 1_000_000.0:0.0} MB); meaningless transcripts, for tests only");
        return Cli.Ok;
    }

    private static List<Model> Load(string path)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var list = new List<Model>();
        foreach (JsonElement e in doc.RootElement.GetProperty("models").EnumerateArray())
        {
            string? sum = e.TryGetProperty("sha256", out JsonElement s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            list.Add(new Model(e.GetProperty("name").GetString()!, e.GetProperty("file").GetString()!, e.GetProperty("url").GetString()!, sum,
                e.TryGetProperty("licence", out JsonElement l) ? l.GetString() ?? "" : ""));
        }
        return list;
    }

    private static async Task PullAsync(Model m, string dir, TextWriter stdout)
    {
        string path = Path.Combine(dir, m.File);
        string recorded = path + ".sha256";
        string? expected = m.Sha256 ?? (File.Exists(recorded) ? File.ReadAllText(recorded).Trim() : null);
        if (File.Exists(path) && expected is not null && Sum(path) == expected)
        {
            stdout.WriteLine($"{m.Name}: {path} present, SHA-256 ok");
            return;
        }

        string temp = path + ".part";
        if (m.Url.StartsWith("npm:", StringComparison.Ordinal)) await FromNpmAsync(m.Url["npm:".Length..], temp).ConfigureAwait(false);
        else
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
            using HttpResponseMessage response = await http.GetAsync(m.Url, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
            await using FileStream output = File.Create(temp);
            await response.Content.CopyToAsync(output).ConfigureAwait(false);
        }

        string actual = Sum(temp);
        if (expected is not null && actual != expected)
        {
            File.Delete(temp);
            throw new InvalidDataException($"SHA-256 {actual} does not match the expected {expected}; the download was discarded");
        }
        File.Move(temp, path, overwrite: true);
        if (expected is null)
        {
            File.WriteAllText(recorded, actual + "\n");
            stdout.WriteLine($"{m.Name}: {path} pulled; SHA-256 {actual} recorded in {recorded} (first pull: not verified against a published sum; confirm it, then put it in the manifest)");
        }
        else stdout.WriteLine($"{m.Name}: {path} pulled, SHA-256 ok");
    }

    /// <summary><c>npm:@scope/package@version#path/in/tarball</c>: <c>npm pack</c>, then the one file out of the tarball.</summary>
    private static async Task FromNpmAsync(string spec, string destination)
    {
        int hash = spec.IndexOf('#');
        if (hash < 0) throw new InvalidDataException($"npm URL '{spec}' lacks #path");
        string package = spec[..hash], entryPath = spec[(hash + 1)..];
        string work = Directory.CreateTempSubdirectory("alicia-npm-").FullName;
        try
        {
            var start = new ProcessStartInfo("npm") { WorkingDirectory = work, RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add("pack");
            start.ArgumentList.Add("--silent");
            start.ArgumentList.Add(package);
            using Process npm = Process.Start(start) ?? throw new IOException("npm did not start");
            string error = await npm.StandardError.ReadToEndAsync().ConfigureAwait(false);
            await npm.WaitForExitAsync().ConfigureAwait(false);
            if (npm.ExitCode != 0) throw new IOException($"npm pack {package} failed: {error.Trim()}");
            string tarball = Directory.GetFiles(work, "*.tgz").Single();
            await using FileStream file = File.OpenRead(tarball);
            await using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            while (await tar.GetNextEntryAsync().ConfigureAwait(false) is { } entry)
            {
                if (entry.Name != entryPath) continue;
                await entry.ExtractToFileAsync(destination, overwrite: true).ConfigureAwait(false);
                return;
            }
            throw new InvalidDataException($"{entryPath} is not in {package}");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static string Sum(string path)
    {
        using FileStream stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
