namespace VitMlNet.Data;

/// <summary>
/// The exception thrown for every user-causable dataset problem: a missing, truncated or corrupt file,
/// a wrong magic number, a count mismatch, an empty folder or an undecodable image.
/// </summary>
/// <remarks>
/// The message names the file or folder and states what was expected and what was found.
/// Catch this one type to report any bad-input problem; programming errors (null arguments, bad option values)
/// stay <see cref="ArgumentException"/>s.
/// </remarks>
public sealed class DatasetException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, naming the file and the expected and actual values.</param>
    /// <param name="path">The file or folder at fault, when there is one.</param>
    /// <param name="innerException">The underlying error (an I/O or decoder exception), if any.</param>
    public DatasetException(string message, string? path = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Path = path;
    }

    /// <summary>The file or folder at fault, or <see langword="null"/> when the error is not about one path.</summary>
    public string? Path { get; }
}
