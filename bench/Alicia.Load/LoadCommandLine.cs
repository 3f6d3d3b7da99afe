namespace Alicia.Load;

/// <summary>
/// The command as results files record it: relative to bench/Alicia.Load, as bench/README.md runs it, so committed
/// results carry no path of the machine that made them.
/// </summary>
internal static class LoadCommandLine
{
    public static string Text => "dotnet bin/Release/net10.0/Alicia.Load.dll " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1));
}
