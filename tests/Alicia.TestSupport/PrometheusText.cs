using System.Globalization;

namespace Alicia.TestSupport;

/// <summary>
/// A strict reader of the Prometheus text exposition format (0.0.4): <c># HELP</c>, <c># TYPE</c> and sample lines
/// <c>name{label="value",...} number [timestamp]</c>. Any other line is a <see cref="FormatException"/>, so a test that
/// parses a scrape also proves it is well formed.
/// </summary>
public sealed class PrometheusText
{
    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    private PrometheusText(Dictionary<string, string> types, Dictionary<string, string> help, List<Sample> samples)
    {
        Types = types;
        Help = help;
        Samples = samples;
    }

    /// <summary>Family name to its type (counter, gauge, histogram, summary, untyped).</summary>
    public IReadOnlyDictionary<string, string> Types { get; }
    public IReadOnlyDictionary<string, string> Help { get; }
    public IReadOnlyList<Sample> Samples { get; }

    public IEnumerable<Sample> Named(string name) => Samples.Where(s => s.Name == name);

    public static PrometheusText Parse(string text)
    {
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var help = new Dictionary<string, string>(StringComparer.Ordinal);
        var samples = new List<Sample>();
        int number = 0;
        foreach (string raw in text.Split('\n'))
        {
            number++;
            string line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                string[] parts = line[7..].Split(' ');
                if (parts.Length != 2 || !IsName(parts[0]) || parts[1] is not ("counter" or "gauge" or "histogram" or "summary" or "untyped"))
                    throw new FormatException($"line {number}: bad TYPE: {line}");
                if (!types.TryAdd(parts[0], parts[1])) throw new FormatException($"line {number}: second TYPE for {parts[0]}");
                continue;
            }
            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                int space = line.IndexOf(' ', 7);
                string name = space < 0 ? line[7..] : line[7..space];
                if (!IsName(name)) throw new FormatException($"line {number}: bad HELP: {line}");
                help[name] = space < 0 ? "" : line[(space + 1)..];
                continue;
            }
            if (line.StartsWith('#')) continue; // a comment
            samples.Add(ParseSample(line, number));
        }
        return new PrometheusText(types, help, samples);
    }

    private static Sample ParseSample(string line, int number)
    {
        int i = 0;
        while (i < line.Length && line[i] is not ('{' or ' ')) i++;
        string name = line[..i];
        if (!IsName(name)) throw new FormatException($"line {number}: bad metric name '{name}'");
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (line[i] != '}')
            {
                int eq = line.IndexOf('=', i);
                string label = line[i..eq];
                if (!IsName(label) || line[eq + 1] != '"') throw new FormatException($"line {number}: bad label near '{line[i..]}'");
                var value = new System.Text.StringBuilder();
                int j = eq + 2;
                for (; line[j] != '"'; j++)
                {
                    if (line[j] == '\\')
                    {
                        j++;
                        value.Append(line[j] switch { 'n' => '\n', '\\' => '\\', '"' => '"', _ => throw new FormatException($"line {number}: bad escape") });
                    }
                    else value.Append(line[j]);
                }
                labels[label] = value.ToString();
                i = j + 1;
                if (line[i] == ',') i++;
                else if (line[i] != '}') throw new FormatException($"line {number}: expected , or }} in labels");
            }
            i++;
        }
        if (i >= line.Length || line[i] != ' ') throw new FormatException($"line {number}: no value: {line}");
        string[] rest = line[(i + 1)..].Split(' ');
        if (rest.Length is < 1 or > 2) throw new FormatException($"line {number}: bad value: {line}");
        double v = rest[0] switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            _ => double.Parse(rest[0], NumberStyles.Float, CultureInfo.InvariantCulture),
        };
        if (rest.Length == 2) _ = long.Parse(rest[1], CultureInfo.InvariantCulture);
        return new Sample(name, labels, v);
    }

    private static bool IsName(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] is '_' or ':')
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or ':');
}
