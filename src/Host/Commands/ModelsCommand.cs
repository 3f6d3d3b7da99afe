using Alicia.Tools.Models;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using Alicia.Voice.Stt;
using Alicia.Host.Configuration;

namespace Alicia.Host.Commands;

/// <summary>
/// <c>alicia models list|pull</c>: the real models of <c>models/manifest.json</c>, downloaded into
/// <c>models/cache/</c> and checked against their SHA-256 (a mismatch discards the download). A manifest entry
/// without a sum (a model added before its sum is confirmed) is pulled, its sum printed and recorded beside
/// it, and checked on later pulls.
/// </summary>
internal static class ModelsCommand
{
    public const string Usage = """
        alicia models list [--manifest FILE]
        alicia models pull [NAME...] [--manifest FILE] [--dir DIR]
          Downloads the manifest's models (all by default) into DIR (default models/cache) and verifies
          their SHA-256. npm: URLs are taken with `npm pack`.
        alicia models random FILE [--size micro|tiny]
          Writes a random-weight Whisper ggml model (micro ~8 MB, default; tiny: tiny.en-sized, ~75 MB). Its
          transcripts are meaningless: it exercises the speech-to-text path without downloadable weights.
        """;

    private sealed record Model(string Name, string File, string Url, string? Sha256, string Licence);

    public static async Task<int> ExecuteAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is not ("list" or "pull" or "random"))
        {
            stderr.WriteLine(Usage);
            return Cli.Usage;
        }
        if (args[0] == "random") return WriteRandom(args[1..], stdout);
        var tokens = args[1..].ToList();
        string manifestPath = Cli.TakeOption(tokens, "--manifest") ?? Path.Combine("models", "manifest.json");
        string dir = Cli.TakeOption(tokens, "--dir") ?? Path.Combine(Path.GetDirectoryName(manifestPath) is { Length: > 0 } d ? d : ".", "cache");
        List<Model> models;
        try { models = Load(manifestPath); }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            stderr.WriteLine($"alicia models: cannot read the manifest {manifestPath}: {e.Message}");
            return Cli.Failed;
        }

        if (args[0] == "list")
        {
            foreach (Model m in models)
            {
                string path = Path.Combine(dir, m.File);
                string state = File.Exists(path) ? "present" : "not pulled";
                stdout.WriteLine($"{m.Name,-18} {m.File,-22} {state,-10} sha256 {m.Sha256 ?? "(to be verified on first pull)"}  {m.Licence}");
            }
            return Cli.Ok;
        }

        foreach (string name in tokens.Where(t => !t.StartsWith("--", StringComparison.Ordinal)))
            if (models.All(m => m.Name != name)) throw new ConfigurationError($"models pull: no model '{name}' in {manifestPath} (have: {string.Join(", ", models.Select(m => m.Name))})");
        List<Model> wanted = tokens.Count == 0 ? models : models.Where(m => tokens.Contains(m.Name)).ToList();
        Directory.CreateDirectory(dir);
        int failed = 0;
        foreach (Model m in wanted)
        {
            try { await PullAsync(m, dir, stdout).ConfigureAwait(false); }
            catch (Exception e) when (e is IOException or HttpRequestException or InvalidDataException or TaskCanceledException or System.ComponentModel.Win32Exception)
            {
                stderr.WriteLine($"alicia models: {m.Name}: {e.Message}");
                failed++;
            }
        }
        return failed == 0 ? Cli.Ok : Cli.Failed;
    }

    private static int WriteRandom(string[] args, TextWriter stdout)
    {
        var tokens = args.ToList();
        string size = Cli.TakeOption(tokens, "--size") ?? "micro";
        WhisperDimensions dimensions = size switch
        {
            "micro" => WhisperDimensions.Micro,
            "tiny" => WhisperDimensions.TinyEn,
            _ => throw new ConfigurationError($"models random: --size '{size}' is not micro or tiny"),
        };
        string path = tokens.FirstOrDefault(t => !t.StartsWith("--", StringComparison.Ordinal))
            ?? throw new ConfigurationError("models random: which FILE?");
        RandomWhisperModel.Write(path, dimensions);
        stdout.WriteLine($"{path}: random-weight Whisper model ({size}, {new FileInfo(path).Length / 1_000_000.0:0.0} MB); meaningless transcripts, for tests only");
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
