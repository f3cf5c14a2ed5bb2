using ScottPlot;

namespace RerankSharp.Cli;

/// <summary>The PNG of <c>rerank bench --plot</c>: median latency against input length, one line per document count.</summary>
internal static class BenchPlot
{
    public static void Save(string path, string title, IReadOnlyList<BenchRow> rows)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var series = rows.GroupBy(r => r.Docs).OrderBy(g => g.Key).ToArray();
        for (var i = 0; i < series.Length; i++)
        {
            var points = series[i].OrderBy(r => r.Tokens).ToArray();
            var line = plot.Add.Scatter(points.Select(p => (double)p.Tokens).ToArray(), points.Select(p => p.MedianSeconds).ToArray());
            line.LegendText = series[i].Key == 1 ? "1 document" : $"{series[i].Key} documents";
            line.Color = palette.GetColor(i);
            line.MarkerSize = 9;
            line.LineWidth = 2;
            foreach (var p in points)
            {
                var label = plot.Add.Text(BenchRow.FormatSeconds(p.MedianSeconds), p.Tokens, p.MedianSeconds);
                label.LabelFontSize = 12;
                label.LabelFontColor = palette.GetColor(i);
                label.OffsetY = -8;
                label.LabelAlignment = Alignment.LowerCenter;
            }
        }
        plot.Title(title, size: 15);
        plot.XLabel("input length (tokens per query+passage pair)");
        plot.YLabel("median latency per request (s)");
        // Ticks at the lengths measured, not at round numbers between them.
        var lengths = rows.Select(r => r.Tokens).Distinct().Order().ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            lengths.Select(t => (double)t).ToArray(), lengths.Select(t => t.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        plot.Axes.SetLimitsY(0, rows.Max(r => r.MedianSeconds) * 1.2);
        plot.Axes.SetLimitsX(0, rows.Max(r => r.Tokens) * 1.08);
        plot.ShowLegend(Alignment.UpperLeft);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        plot.SavePng(path, 900, 560);
    }
}
