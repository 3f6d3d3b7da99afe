namespace Alicia.Load;

/// <summary>Where the load tool writes its generated results.</summary>
internal static class ResultsFolder
{
    /// <summary>
    /// The checkout's bench/results (the folder holding Alicia.slnx, from the working directory up, then from the tool's
    /// own folder up), created if missing; outside a checkout, the working directory.
    /// </summary>
    public static string Default()
    {
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (!File.Exists(Path.Combine(dir.FullName, "Alicia.slnx"))) continue;
                string folder = Path.Combine(dir.FullName, "bench", "results");
                Directory.CreateDirectory(folder);
                return folder;
            }
        }
        return Environment.CurrentDirectory;
    }
}
