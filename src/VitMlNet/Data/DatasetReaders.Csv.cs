using System.Text;

namespace VitMlNet.Data;

public static partial class DatasetReaders
{
    private static readonly string[] PathHeaders = ["path", "file", "filename", "file_name", "filepath", "file_path", "image", "image_path", "imagepath", "img"];
    private static readonly string[] LabelHeaders = ["label", "class", "class_name", "classname", "category", "target", "y"];

    /// <summary>
    /// Lists a CSV (comma) or TSV (tab, for a <c>.tsv</c> file) of <c>path,label</c> rows. Relative paths are resolved
    /// against the list file's folder. Fields may be double-quoted (<c>""</c> inside quotes is a quote). Blank lines are
    /// ignored. Class names are the distinct labels sorted ordinally. Each file must exist and have a readable image header.
    /// </summary>
    /// <param name="listPath">The <c>.csv</c> or <c>.tsv</c> file.</param>
    /// <param name="skipBadImages">Leave missing or unrecognised files out and list them in <see cref="ImageFileSet.SkippedFiles"/> instead of throwing.</param>
    /// <param name="hasHeader">Whether the first line is a header; <see langword="null"/> detects it: the first line is a header
    /// when its path field is a usual column name (path, file, image, …) or its label field is (label, class, …).</param>
    /// <returns>The labelled file list, in file order.</returns>
    /// <exception cref="DatasetException">The list is missing or has no rows, a row does not have exactly two fields or has an
    /// empty field, or (without <paramref name="skipBadImages"/>) an image file is missing or unreadable.</exception>
    public static ImageFileSet ListImageCsv(string listPath, bool skipBadImages = false, bool? hasHeader = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(listPath);
        string full = Path.GetFullPath(listPath);
        if (!File.Exists(full))
        {
            throw new DatasetException($"Image list '{full}' does not exist.", full);
        }

        var rows = ReadListRows(full, hasHeader);
        if (rows.Count == 0)
        {
            throw new DatasetException($"Image list '{full}' holds no rows; expected lines of path{(full.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase) ? "<TAB>" : ",")}label.", full);
        }

        var warnings = ListWarnings(full, rows);
        string[] classNames = rows.Select(r => r.Label).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var classIndex = classNames.Index().ToDictionary(c => c.Item, c => c.Index, StringComparer.Ordinal);

        var paths = new List<string>(rows.Count);
        var labels = new List<int>(rows.Count);
        var skipped = new List<SkippedFile>();
        foreach (var (line, path, label) in rows)
        {
            string? problem = !File.Exists(path) ? "the file does not exist" : skipBadImages ? ImageCodec.CheckFile(path) : ImageCodec.ProbeHeader(path);
            if (problem is null)
            {
                paths.Add(path);
                labels.Add(classIndex[label]);
            }
            else if (skipBadImages)
            {
                skipped.Add(new SkippedFile(path, problem));
            }
            else
            {
                throw new DatasetException(
                    $"Image list '{full}' line {line}: image file '{path}' cannot be used: {problem}. Fix the row, or set skipBadImages to leave such files out.",
                    path);
            }
        }

        if (paths.Count == 0)
        {
            throw new DatasetException(
                $"Image list '{full}' holds no readable image: all {skipped.Count} file(s) were skipped; the first, '{skipped[0].Path}': {skipped[0].Reason}.", full);
        }

        warnings.AddRange(DuplicateImageWarnings(paths, labels, classNames));
        return new ImageFileSet(full, paths, [.. labels], classNames, skipped, warnings);
    }

    /// <summary>
    /// The rows of a CSV/TSV image list: line number, full path (relative paths resolved against the list's folder) and
    /// label, without touching the image files.
    /// </summary>
    /// <exception cref="DatasetException">The list cannot be read, or a row is malformed.</exception>
    internal static List<(int Line, string Path, string Label)> ReadListRows(string full, bool? hasHeader)
    {
        char separator = full.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase) ? '\t' : ',';
        string folder = Path.GetDirectoryName(full)!;
        string[] lines;
        try
        {
            lines = File.ReadAllLines(full, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetException($"Image list '{full}' cannot be read: {e.Message}", full, e);
        }

        var rows = new List<(int Line, string Path, string Label)>();
        bool first = true;
        for (int i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i]))
            {
                continue;
            }

            var fields = SplitRow(lines[i], separator, full, i + 1);
            if (fields.Count != 2)
            {
                throw new DatasetException(
                    $"Image list '{full}' line {i + 1}: expected 2 fields (path{(separator == '\t' ? "<TAB>" : ",")}label) but found {fields.Count}.", full);
            }

            if (first)
            {
                first = false;
                bool header = hasHeader ?? (Array.Exists(PathHeaders, h => h.Equals(fields[0], StringComparison.OrdinalIgnoreCase))
                    || Array.Exists(LabelHeaders, h => h.Equals(fields[1], StringComparison.OrdinalIgnoreCase)));
                if (header)
                {
                    continue;
                }
            }

            if (fields[0].Length == 0 || fields[1].Length == 0)
            {
                throw new DatasetException(
                    $"Image list '{full}' line {i + 1}: the {(fields[0].Length == 0 ? "path" : "label")} field is empty.", full);
            }

            rows.Add((i + 1, Path.GetFullPath(fields[0], folder), fields[1]));
        }

        return rows;
    }

    /// <summary>
    /// Warnings about a list's rows: a file listed again under another label (the same image would train as two
    /// classes). One line each, naming the list, both lines and both labels.
    /// </summary>
    private static List<string> ListWarnings(string full, List<(int Line, string Path, string Label)> rows)
    {
        var warnings = new List<string>();
        var firstRow = new Dictionary<string, (int Line, string Label)>(StringComparer.Ordinal);
        foreach (var (line, path, label) in rows)
        {
            if (!firstRow.TryGetValue(path, out var earlier))
            {
                firstRow.Add(path, (line, label));
            }
            else if (!string.Equals(earlier.Label, label, StringComparison.Ordinal))
            {
                warnings.Add($"Image list '{full}' line {line}: '{path}' is listed again with the label '{label}' (line {earlier.Line} gives '{earlier.Label}'); the same image trains under both labels.");
            }
        }

        return warnings;
    }

    /// <summary>
    /// Reads a CSV/TSV image list (see <see cref="ListImageCsv"/>) into raw pixels through <see cref="ImagePreprocessing"/>,
    /// the chain a model zip applies, at <paramref name="height"/>×<paramref name="width"/> and <paramref name="channels"/> channels.
    /// </summary>
    /// <param name="listPath">The <c>.csv</c> or <c>.tsv</c> file.</param>
    /// <param name="height">Target height in pixels.</param>
    /// <param name="width">Target width in pixels.</param>
    /// <param name="channels">1 (gray) or 3 (RGB).</param>
    /// <param name="skipBadImages">Leave missing or undecodable files out and list them in <see cref="ImageDataset.SkippedFiles"/> instead of throwing.</param>
    /// <param name="hasHeader">Whether the first line is a header; <see langword="null"/> detects it.</param>
    /// <returns>The decoded dataset.</returns>
    /// <exception cref="DatasetException">See <see cref="ListImageCsv"/>; also when a file fails to decode.</exception>
    public static ImageDataset ReadImageCsv(string listPath, int height, int width, int channels = 3, bool skipBadImages = false, bool? hasHeader = null)
    {
        ImageCodec.ValidateShape(channels, height, width, nameof(ReadImageCsv));
        return ListImageCsv(listPath, skipBadImages, hasHeader).ToDataset(height, width, channels);
    }

    /// <summary>Splits one delimited line, honouring double quotes; fields are trimmed of surrounding spaces.</summary>
    private static List<string> SplitRow(string line, char separator, string file, int lineNumber)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c != '"')
                {
                    field.Append(c);
                }
                else if (i + 1 < line.Length && line[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else
                {
                    quoted = false;
                }
            }
            else if (c == '"' && field.ToString().Trim().Length == 0)
            {
                field.Clear();
                quoted = true;
            }
            else if (c == separator)
            {
                fields.Add(field.ToString().Trim());
                field.Clear();
            }
            else
            {
                field.Append(c);
            }
        }

        if (quoted)
        {
            throw new DatasetException($"Image list '{file}' line {lineNumber}: a quoted field is not closed.", file);
        }

        fields.Add(field.ToString().Trim());
        return fields;
    }
}
