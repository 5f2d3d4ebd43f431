namespace VitMlNet.Data;

/// <summary>An image file a reader left out because <c>skipBadImages</c> was set, with the reason.</summary>
/// <param name="Path">The full path of the file that was skipped.</param>
/// <param name="Reason">Why it was skipped, e.g. "not a recognised image format".</param>
public sealed record SkippedFile(string Path, string Reason);
