using System.Globalization;
using System.Net;
using System.Text;

namespace VitMlNet.Cli.Reporting;

/// <summary>
/// Writes <c>index.html</c> into a report folder: a self-contained page (inline CSS, no scripts or external assets) with a
/// metrics table, an optional per-class precision/recall table and the folder's PNG charts. All text is HTML-escaped.
/// </summary>
internal static class ReportIndex
{
    /// <summary>Name of the written page.</summary>
    public const string FileName = "index.html";

    /// <summary>Writes the page with numeric metrics (formatted with up to 6 significant digits, invariant culture).</summary>
    /// <param name="reportDirectory">Report folder (created when missing); the page is written into it.</param>
    /// <param name="metrics">Metric names and values, shown in the given order.</param>
    /// <param name="perClass">Per-class precision/recall, or null for no per-class table.</param>
    /// <param name="images">PNG file names relative to the folder, in display order; null shows every *.png in the folder, sorted by name.</param>
    /// <param name="title">Page title.</param>
    /// <returns>Full path of the written index.html.</returns>
    /// <exception cref="ArgumentException">A metric name is empty, an image is missing or outside the folder, or a class name is empty.</exception>
    public static string Write(string reportDirectory, IEnumerable<KeyValuePair<string, double>> metrics,
        IReadOnlyList<ClassMetrics>? perClass = null, IEnumerable<string>? images = null, string title = "VitMlNet report")
    {
        ArgumentNullException.ThrowIfNull(metrics);
        return Write(reportDirectory, metrics.Select(m => new KeyValuePair<string, string>(m.Key, FormatNumber(m.Value))).ToList(),
            perClass, images, title);
    }

    /// <summary>Writes the page with metrics given as text (e.g. "91.2 %", "00:03:12", a model path).</summary>
    /// <param name="reportDirectory">Report folder (created when missing); the page is written into it.</param>
    /// <param name="metrics">Metric names and values, shown in the given order.</param>
    /// <param name="perClass">Per-class precision/recall, or null for no per-class table.</param>
    /// <param name="images">PNG file names relative to the folder, in display order; null shows every *.png in the folder, sorted by name.</param>
    /// <param name="title">Page title.</param>
    /// <returns>Full path of the written index.html.</returns>
    /// <exception cref="ArgumentException">A metric name is empty, an image is missing or outside the folder, or a class name is empty.</exception>
    public static string Write(string reportDirectory, IEnumerable<KeyValuePair<string, string>> metrics,
        IReadOnlyList<ClassMetrics>? perClass = null, IEnumerable<string>? images = null, string title = "VitMlNet report")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reportDirectory);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(title);
        var rows = metrics.ToList();
        for (int i = 0; i < rows.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(rows[i].Key))
            {
                throw new ArgumentException($"metrics[{i}]: the metric name is empty.", nameof(metrics));
            }
        }

        for (int i = 0; perClass is not null && i < perClass.Count; i++)
        {
            if (perClass[i] is null || string.IsNullOrEmpty(perClass[i].ClassName))
            {
                throw new ArgumentException($"perClass[{i}]: the class name is empty.", nameof(perClass));
            }
        }

        string folder = Path.GetFullPath(reportDirectory);
        Directory.CreateDirectory(folder);
        var pictures = images is null
            ? Directory.EnumerateFiles(folder, "*.png").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList()
            : CheckImages(folder, images);

        string html = Render(title, rows, perClass, pictures);
        string path = Path.Combine(folder, FileName);
        IO.AtomicFile.WriteAllText(path, html);
        return path;
    }

    private static List<string> CheckImages(string folder, IEnumerable<string> images)
    {
        var result = new List<string>();
        int i = 0;
        foreach (string? image in images)
        {
            if (string.IsNullOrWhiteSpace(image))
            {
                throw new ArgumentException($"images[{i}]: the file name is empty.", nameof(images));
            }

            string full = Path.GetFullPath(Path.Combine(folder, image));
            if (!full.StartsWith(folder.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new ArgumentException($"images[{i}]: '{image}' is outside the report folder '{folder}'.", nameof(images));
            }

            if (!File.Exists(full))
            {
                throw new ArgumentException($"images[{i}]: '{image}' does not exist in the report folder '{folder}'.", nameof(images));
            }

            result.Add(Path.GetRelativePath(folder, full).Replace(Path.DirectorySeparatorChar, '/'));
            i++;
        }

        return result;
    }

    /// <summary>Up to 6 significant digits, invariant culture; "NaN", "∞" and "-∞" for the special values.</summary>
    internal static string FormatNumber(double value) => value switch
    {
        double.NaN => "NaN",
        double.PositiveInfinity => "\u221e",
        double.NegativeInfinity => "-\u221e",
        _ => value.ToString("G6", CultureInfo.InvariantCulture),
    };

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string Href(string relative) => string.Join('/', relative.Split('/').Select(Uri.EscapeDataString));

    private static string Percent(double value) =>
        double.IsNaN(value) ? "n/a" : (value * 100).ToString("F2", CultureInfo.InvariantCulture) + "%";

    private static string Render(string title, List<KeyValuePair<string, string>> metrics, IReadOnlyList<ClassMetrics>? perClass,
        List<string> pictures)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        sb.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        sb.Append("<title>").Append(E(title)).Append("</title>\n<style>\n");
        sb.Append("""
            body { font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; color: #222; margin: 0; background: #f6f7f9; }
            main { max-width: 1440px; margin: 0 auto; padding: 24px 32px 48px; }
            h1 { font-size: 26px; margin: 8px 0 20px; }
            h2 { font-size: 19px; margin: 32px 0 12px; border-bottom: 1px solid #dde1e6; padding-bottom: 6px; }
            table { border-collapse: collapse; background: #fff; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
            th, td { padding: 6px 14px; border-bottom: 1px solid #eceef1; text-align: left; font-size: 14px; }
            th { background: #f0f2f5; font-weight: 600; }
            td.num { text-align: right; font-variant-numeric: tabular-nums; font-family: "DejaVu Sans Mono", Consolas, monospace; }
            figure { margin: 0 0 28px; background: #fff; padding: 12px; box-shadow: 0 1px 2px rgba(0,0,0,.08); width: fit-content; max-width: 100%; box-sizing: border-box; }
            figure img { max-width: 100%; height: auto; display: block; }
            figcaption { font-size: 13px; color: #5f6368; margin-top: 6px; }
            p.empty { color: #5f6368; }

            """);
        sb.Append("</style>\n</head>\n<body>\n<main>\n");
        sb.Append("<h1>").Append(E(title)).Append("</h1>\n");

        sb.Append("<h2>Metrics</h2>\n");
        if (metrics.Count == 0)
        {
            sb.Append("<p class=\"empty\">No metrics.</p>\n");
        }
        else
        {
            sb.Append("<table class=\"metrics\">\n<thead><tr><th>Metric</th><th>Value</th></tr></thead>\n<tbody>\n");
            foreach (var (name, value) in metrics)
            {
                sb.Append("<tr><td>").Append(E(name)).Append("</td><td class=\"num\">").Append(E(value ?? "")).Append("</td></tr>\n");
            }

            sb.Append("</tbody>\n</table>\n");
        }

        if (perClass is { Count: > 0 })
        {
            bool support = perClass.Any(c => c.Support is not null);
            sb.Append("<h2>Per-class metrics</h2>\n<table class=\"per-class\">\n<thead><tr><th>Class</th><th>Precision</th><th>Recall</th><th>F1</th>");
            sb.Append(support ? "<th>Support</th>" : "").Append("</tr></thead>\n<tbody>\n");
            foreach (var c in perClass)
            {
                sb.Append("<tr><td>").Append(E(c.ClassName)).Append("</td><td class=\"num\">").Append(Percent(c.Precision))
                    .Append("</td><td class=\"num\">").Append(Percent(c.Recall)).Append("</td><td class=\"num\">").Append(Percent(c.F1))
                    .Append("</td>");
                if (support)
                {
                    sb.Append("<td class=\"num\">").Append(c.Support is long s ? s.ToString("N0", CultureInfo.InvariantCulture) : "").Append("</td>");
                }

                sb.Append("</tr>\n");
            }

            sb.Append("</tbody>\n</table>\n");
        }

        sb.Append("<h2>Charts</h2>\n");
        if (pictures.Count == 0)
        {
            sb.Append("<p class=\"empty\">No charts.</p>\n");
        }

        foreach (string picture in pictures)
        {
            sb.Append("<figure><img src=\"").Append(E(Href(picture))).Append("\" alt=\"").Append(E(picture)).Append("\"><figcaption>")
                .Append(E(picture)).Append("</figcaption></figure>\n");
        }

        sb.Append("</main>\n</body>\n</html>\n");
        return sb.ToString();
    }
}
