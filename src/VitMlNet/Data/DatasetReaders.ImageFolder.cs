namespace VitMlNet.Data;

public static partial class DatasetReaders
{
    /// <summary>
    /// Lists an image folder: one subfolder per class, class order = subfolder names sorted ordinally. Each class folder
    /// is searched recursively for files with an <see cref="ImageExtensions">image extension</see>; other files and
    /// hidden entries (names starting with '.') are ignored, as are files directly in <paramref name="root"/>.
    /// Every file's header is checked with SkiaSharp (with <paramref name="skipBadImages"/>, the whole file, so that
    /// truncated files are skipped too); pixels are decoded later, through <see cref="ImagePreprocessing"/>.
    /// </summary>
    /// <remarks>With <paramref name="skipBadImages"/>, a class whose files are all skipped keeps its name (label indices
    /// always follow the folder order) but has no images.</remarks>
    /// <param name="root">The folder holding one subfolder per class.</param>
    /// <param name="skipBadImages">Leave unrecognised files out and list them in <see cref="ImageFileSet.SkippedFiles"/> instead of throwing.</param>
    /// <returns>The labelled file list, in class order, then ordinal path order within a class.</returns>
    /// <exception cref="DatasetException">The folder is missing or has no class subfolders, a class folder holds no image
    /// files, or (without <paramref name="skipBadImages"/>) a file is not a readable image.</exception>
    public static ImageFileSet ListImageFolder(string root, bool skipBadImages = false)
    {
        string full = RequireFolder(root, "Image folder");
        // Links to folders are not followed: a link to another class folder would relabel its images, and a link to a
        // parent would loop. They are errors (or skipped with skipBadImages), never silently used.
        var linkProblems = new List<SkippedFile>();
        string[] classDirs = Directory.GetDirectories(full)
            .Where(d => !Path.GetFileName(d).StartsWith('.'))
            .Where(d => !IsFolderLink(d, linkProblems))
            .OrderBy(d => Path.GetFileName(d), StringComparer.Ordinal)
            .ToArray();
        if (classDirs.Length == 0)
        {
            int files = Directory.GetFiles(full).Count(ImageCodec.HasImageExtension);
            throw new DatasetException(
                $"Image folder '{full}' has no class subfolders; expected one subfolder per class holding its images"
                + (files > 0 ? $" (it holds {files} image files directly, which need a class subfolder)." : "."),
                full);
        }

        var paths = new List<string>();
        var labels = new List<int>();
        var skipped = new List<SkippedFile>();
        var classFiles = new string[classDirs.Length][];
        for (int k = 0; k < classDirs.Length; k++)
        {
            var list = new List<string>();
            ListFiles(classDirs[k], list, linkProblems);
            classFiles[k] = list.Order(StringComparer.Ordinal).ToArray();
        }
        if (linkProblems.Count > 0)
        {
            if (!skipBadImages)
            {
                throw new DatasetException(
                    $"'{linkProblems[0].Path}' is {linkProblems[0].Reason}; image folders do not follow folder links (a link to another class folder would relabel its images). " +
                    "Replace it by a real folder or remove it, or set skipBadImages to leave it out.", linkProblems[0].Path);
            }
            skipped.AddRange(linkProblems);
        }
        var ownerOfFile = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int k = 0; k < classDirs.Length; k++)
        {
            foreach (var f in classFiles[k]) ownerOfFile.TryAdd(f, k);
        }

        for (int k = 0; k < classDirs.Length; k++)
        {
            string[] files = classFiles[k];
            if (files.Length == 0)
            {
                throw new DatasetException(
                    $"Class folder '{classDirs[k]}' holds no image files ({string.Join(", ", ImageCodec.Extensions)}); every class needs at least one image.",
                    classDirs[k]);
            }

            int classIndex = k;
            var check = skipBadImages ? (Func<string, string?>)ImageCodec.CheckFile : ImageCodec.ProbeHeader;
            var problems = files.AsParallel().AsOrdered().Select(f => LinkProblem(f, classIndex, ownerOfFile, classDirs) ?? check(f)).ToArray();
            int firstBad = Array.FindIndex(problems, p => p is not null);
            if (firstBad >= 0 && !skipBadImages)
            {
                string file = files[firstBad];
                throw Array.TrueForAll(problems, p => p is not null)
                    ? new DatasetException(
                        $"Class folder '{classDirs[k]}' holds no readable image: none of its {files.Length} image file(s) can be decoded; "
                        + $"the first, '{file}': {problems[firstBad]}.", classDirs[k])
                    : problems[firstBad]!.StartsWith(MissingLinkTarget, StringComparison.Ordinal) || problems[firstBad]!.StartsWith(DuplicateLink, StringComparison.Ordinal)
                    ? new DatasetException($"Image file '{file}' is {problems[firstBad]}. Fix or remove the link, or set skipBadImages to leave such files out.", file)
                    : new DatasetException(
                        $"Image file '{file}' cannot be decoded: {problems[firstBad]}. Fix or remove it, or set skipBadImages to leave such files out.", file);
            }

            for (int i = 0; i < files.Length; i++)
            {
                if (problems[i] is null)
                {
                    paths.Add(files[i]);
                    labels.Add(k);
                }
                else
                {
                    skipped.Add(new SkippedFile(files[i], problems[i]!));
                }
            }
        }

        if (paths.Count == 0)
        {
            throw new DatasetException(
                $"Image folder '{full}' holds no readable image: all {skipped.Count} image file(s) were skipped; the first, '{skipped[0].Path}': {skipped[0].Reason}.", full);
        }

        string[] classNames = classDirs.Select(d => Path.GetFileName(d)).ToArray();
        return new ImageFileSet(full, paths, [.. labels], classNames, skipped, DuplicateImageWarnings(paths, labels, classNames).ToList());
    }

    private const string MissingLinkTarget = "missing: a link to";
    private const string DuplicateLink = "a link to";

    /// <summary>Whether <paramref name="path"/> is a link to a folder (then noted in <paramref name="problems"/>).</summary>
    private static bool IsFolderLink(string path, List<SkippedFile> problems)
    {
        string? target = new DirectoryInfo(path).LinkTarget;
        if (target is null) return false;
        problems.Add(new SkippedFile(path, $"a link to the folder '{target}'"));
        return true;
    }

    /// <summary>The image files under <paramref name="folder"/>, recursively, without following links to folders
    /// (those are noted in <paramref name="problems"/>); hidden entries (names starting with '.') are ignored.</summary>
    private static void ListFiles(string folder, List<string> files, List<SkippedFile> problems)
    {
        foreach (var entry in new DirectoryInfo(folder).EnumerateFileSystemInfos())
        {
            if (entry.Name.StartsWith('.')) continue;
            string path = Path.Combine(folder, entry.Name);
            if (entry is DirectoryInfo)
            {
                if (!IsFolderLink(path, problems)) ListFiles(path, files, problems);
            }
            else if (ImageCodec.HasImageExtension(path))
            {
                files.Add(path);
            }
        }
    }

    /// <summary>The problem of a file that is a link: its target is missing, or it is an image of another class
    /// (the same image under two labels); null for ordinary files and sound links.</summary>
    private static string? LinkProblem(string file, int classIndex, Dictionary<string, int> ownerOfFile, string[] classDirs)
    {
        var info = new FileInfo(file);
        if (info.LinkTarget is null) return null;
        FileSystemInfo? target;
        try
        {
            target = File.ResolveLinkTarget(file, returnFinalTarget: true);
        }
        catch (IOException)
        {
            target = null;
        }
        if (target is null || !target.Exists) return $"{MissingLinkTarget} '{info.LinkTarget}', which does not exist";
        if (ownerOfFile.TryGetValue(target.FullName, out int owner) && owner != classIndex)
            return $"{DuplicateLink} '{target.FullName}', an image of class '{Path.GetFileName(classDirs[owner])}' (the same image under two labels)";
        return null;
    }

    /// <summary>
    /// Reads an image folder (see <see cref="ListImageFolder"/>) into raw pixels through <see cref="ImagePreprocessing"/>,
    /// the chain a model zip applies, at <paramref name="height"/>×<paramref name="width"/> and <paramref name="channels"/> channels.
    /// </summary>
    /// <param name="root">The folder holding one subfolder per class.</param>
    /// <param name="height">Target height in pixels.</param>
    /// <param name="width">Target width in pixels.</param>
    /// <param name="channels">1 (gray) or 3 (RGB).</param>
    /// <param name="skipBadImages">Leave unreadable files out and list them in <see cref="ImageDataset.SkippedFiles"/> instead of throwing.</param>
    /// <returns>The decoded dataset.</returns>
    /// <exception cref="DatasetException">See <see cref="ListImageFolder"/>; also when a file fails to decode.</exception>
    public static ImageDataset ReadImageFolder(string root, int height, int width, int channels = 3, bool skipBadImages = false)
    {
        ImageCodec.ValidateShape(channels, height, width, nameof(ReadImageFolder));
        return ListImageFolder(root, skipBadImages).ToDataset(height, width, channels);
    }
}
