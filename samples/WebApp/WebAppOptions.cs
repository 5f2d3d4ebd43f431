using System.Globalization;
using VitMlNet.Scoring;

namespace VitMlNet.Samples.WebApp;

/// <summary>
/// The web app's settings, read from the command line (<c>--model m.zip --maxUploadBytes 5000000</c>), environment
/// variables or appsettings.json; validated once at start into one message listing every bad field.
/// </summary>
public sealed class WebAppOptions
{
    /// <summary>Path of the model zip to serve (written by <c>vit train</c>). Required.</summary>
    public string? Model { get; set; }

    /// <summary>Largest request body accepted by <c>POST /predict</c>, in bytes; larger is refused with 413 before it is read.</summary>
    /// <value>The default is 20 MB (20,971,520 bytes).</value>
    public long MaxUploadBytes { get; set; } = 20L * 1024 * 1024;

    /// <summary>Largest image (width × height) accepted, checked from the header before decoding.</summary>
    /// <value>The default is <see cref="SafeImage.DefaultMaxPixels"/> (100,000,000).</value>
    public long MaxPixels { get; set; } = SafeImage.DefaultMaxPixels;

    /// <summary>ONNX Runtime threads per prediction engine; 0 for ONNX Runtime's default (every core per engine).</summary>
    /// <value>The default is 1: concurrent requests run side by side, one core each.</value>
    public int ThreadsPerEngine { get; set; } = 1;

    /// <summary>Quiet period after the zip's last change on disk before it is reloaded, in milliseconds.</summary>
    /// <value>The default is 300.</value>
    public int ReloadDelayMs { get; set; } = 300;

    /// <summary>Every bad field, one phrase each; empty when the options are valid.</summary>
    /// <returns>The problems found.</returns>
    public IReadOnlyList<string> Validate()
    {
        var inv = CultureInfo.InvariantCulture;
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Model)) problems.Add("--model is required: the model zip to serve (written by 'vit train')");
        else if (Directory.Exists(Model)) problems.Add($"--model '{Model}' is a folder; expected a model zip");
        else if (!File.Exists(Model)) problems.Add($"--model '{Model}' does not exist");
        if (MaxUploadBytes < 1) problems.Add(string.Format(inv, "--maxUploadBytes must be at least 1 (got {0})", MaxUploadBytes));
        if (MaxPixels < 1) problems.Add(string.Format(inv, "--maxPixels must be at least 1 (got {0})", MaxPixels));
        if (ThreadsPerEngine < 0) problems.Add(string.Format(inv, "--threadsPerEngine must be 0 (ONNX Runtime's default) or more (got {0})", ThreadsPerEngine));
        if (ReloadDelayMs < 0) problems.Add(string.Format(inv, "--reloadDelayMs must be 0 or more (got {0})", ReloadDelayMs));
        return problems;
    }
}
