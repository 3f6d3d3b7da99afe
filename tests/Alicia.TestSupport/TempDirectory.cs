namespace Alicia.TestSupport;

/// <summary>A fresh directory under the system temp directory, created at once and removed (with everything in it) on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory(string prefix = "alicia-test")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), prefix + "-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>Where an engine started on this directory keeps its keys (not created until something writes there).</summary>
    public string Keys => Sub("keys");

    /// <summary>Where an engine started on this directory keeps its data (registry, identities, audit log).</summary>
    public string Data => Sub("data");

    /// <summary>A path inside this directory (not created).</summary>
    public string Sub(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public override string ToString() => Path;

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (DirectoryNotFoundException) { }
        catch (IOException) { } // a child process may still hold a file; the temp directory is the system's to clean then
        catch (UnauthorizedAccessException) { }
    }
}
