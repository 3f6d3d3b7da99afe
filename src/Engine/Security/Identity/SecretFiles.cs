namespace Alicia.Engine.Security.Identity;

/// <summary>Writes secrets (mode 0600) and private directories (mode 0700) without a window where they are readable.</summary>
internal static class SecretFiles
{
    public const UnixFileMode SecretMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public const UnixFileMode PrivateDirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public static void EnsurePrivateDirectory(string path)
    {
        if (Directory.Exists(path)) return;
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(path);
        else Directory.CreateDirectory(path, PrivateDirectoryMode);
    }

    /// <summary>Writes <paramref name="content"/> to a file created with mode 0600 (replaced atomically when <paramref name="overwrite"/>).</summary>
    public static void WriteSecret(string file, string content, bool overwrite = false)
    {
        string target = Path.GetFullPath(file);
        if (!overwrite && File.Exists(target)) throw new IOException($"{target} already exists");
        string temp = target + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = SecretMode;
        using (var stream = new FileStream(temp, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
            if (!content.EndsWith('\n')) writer.Write('\n');
        }
        File.Move(temp, target, overwrite);
    }

    /// <summary>Writes a public file (certificate, configuration) atomically.</summary>
    public static void WritePublic(string file, string content)
    {
        string target = Path.GetFullPath(file);
        string temp = target + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        File.WriteAllText(temp, content.EndsWith('\n') ? content : content + "\n");
        File.Move(temp, target, overwrite: true);
    }
}
