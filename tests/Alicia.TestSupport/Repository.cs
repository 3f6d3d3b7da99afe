namespace Alicia.TestSupport;

/// <summary>The checkout the tests were built from.</summary>
public static class Repository
{
    /// <summary>The repository's root: the nearest folder above the test's binaries that holds Alicia.slnx.</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Alicia.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException("the repository root (Alicia.slnx) was not found above " + AppContext.BaseDirectory);
    }
}
