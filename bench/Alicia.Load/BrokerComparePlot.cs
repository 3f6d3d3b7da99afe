using System.Globalization;
using ScottPlot;

namespace Alicia.Load;

/// <summary>
/// A latency-distribution plot of one cell, both brokers: latency against percentile, the percentile axis
/// stretched towards the tail (as HdrHistogram plots it: 90, 99, 99.9 ... equally spaced) and the latency
/// axis logarithmic, so the median and the tail are both readable.
/// </summary>
internal static class BrokerComparePlot
{
    private const double MaxNines = 4; // 99.99 %: the last point (100 %) is drawn there too

    public static void Save(BrokerCompareResult result, int qos, int publishers, string path)
    {
        var plot = new Plot();
        foreach (string broker in new[] { BrokerCompareScenario.Mosquitto }.Concat(BrokerCompareReport.EmbeddedVariants(result)))
        {
            if (result.Find(broker, qos, publishers) is not { } run || run.Flood.Curve.Count == 0) continue;
            double[] xs = [.. run.Flood.Curve.Select(p => Nines(p.Percentile))];
            double[] ys = [.. run.Flood.Curve.Select(p => Math.Log10(Math.Max(1, p.LatencyUs) / 1000))];
            var line = plot.Add.Scatter(xs, ys);
            line.LegendText = $"{broker} ({run.Flood.MsgPerSecond:0} msg/s, p99 {run.Flood.P99Us / 1000:0.###} ms)";
            line.MarkerSize = 3;
        }
        double[] ticks = [0, 1, 2, 3, 4];
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks, ["0 %", "90 %", "99 %", "99.9 %", "99.99 %+"]);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = y => Math.Pow(10, y).ToString("0.###", CultureInfo.InvariantCulture),
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
        };
        plot.Axes.Bottom.Label.Text = "percentile";
        plot.Axes.Left.Label.Text = "latency, ms (log)";
        plot.Title($"QoS {qos}, {publishers} -> 1, MQTT.js, {result.Messages} x {result.PayloadBytes} B ({result.Machine.Cores} cores, loadavg {string.Join(' ', result.Machine.LoadAverageStart.Select(l => l.ToString("0.0", CultureInfo.InvariantCulture)))})");
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(path, 900, 520);
    }

    private static double Nines(double percentile) => Math.Min(MaxNines, -Math.Log10(Math.Max(1e-9, 1 - percentile / 100)));
}
