using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using SkiaSharp;
using VitMlNet.Samples.WebApp;

namespace VitMlNet.WebApp.Tests;

/// <summary>The checked-in model zips and test images (the stripe classes the fixtures were trained on).</summary>
public static class Fixtures
{
    /// <summary>Classes of fixtures/stripes.zip, in the model's order.</summary>
    public static readonly string[] Classes = ["checker", "horizontal", "vertical"];

    /// <summary>Classes of fixtures/stripes-renamed.zip (the same images, folders renamed): rows, columns, squares.</summary>
    public static readonly string[] RenamedClasses = ["columns", "rows", "squares"];

    public static string Zip(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", name);

    /// <summary>
    /// A PNG of one stripe class as the fixtures were trained on: 0 horizontal, 1 vertical, 2 checker; the stripe
    /// period is an eighth of the side, so the model's 16x16 input sees the same pattern at any size.
    /// </summary>
    /// <param name="kind">0 horizontal, 1 vertical, 2 checker.</param>
    /// <param name="size">Width and height in pixels.</param>
    /// <param name="seed">Seed of the noise.</param>
    /// <param name="noise">Adds ±25 of noise per pixel as the training images had (false: a small file of any size).</param>
    public static byte[] StripesPng(int kind, int size = 32, int seed = 1, bool noise = true)
    {
        var rng = new Random(seed);
        using var bitmap = new SKBitmap(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque);
        int period = Math.Max(1, size / 8);
        for (int y = 0; y < size; y++)
        {
            for (int x = 0; x < size; x++)
            {
                bool on = kind switch
                {
                    0 => (y / period) % 2 == 0,
                    1 => (x / period) % 2 == 0,
                    _ => ((x / period) + (y / period)) % 2 == 0,
                };
                int v = Math.Clamp((on ? 210 : 40) + (noise ? rng.Next(-25, 26) : 0), 0, 255);
                bitmap.SetPixel(x, y, new SKColor((byte)v, (byte)(255 - v), (byte)v));
            }
        }
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>multipart/form-data with one file field.</summary>
    public static MultipartFormDataContent Upload(byte[] bytes, string fileName, string field = "image", string contentType = "image/png")
    {
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return new MultipartFormDataContent { { file, field, fileName } };
    }

    public static string TempFolder(string name)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"vit-webapp-{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}

/// <summary>The app in-process (TestServer), serving a copy of a fixture zip from its own folder.</summary>
public sealed class WebAppFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string> settings;

    public WebAppFactory() : this("stripes.zip")
    {
    }

    internal WebAppFactory(string fixture, params (string Key, string Value)[] settings)
    {
        Folder = Fixtures.TempFolder("inproc");
        ModelPath = Path.Combine(Folder, "model.zip");
        File.Copy(Fixtures.Zip(fixture), ModelPath);
        this.settings = settings.ToDictionary(s => s.Key, s => s.Value);
    }

    public string Folder { get; }

    public string ModelPath { get; }

    public ModelHost Host => Services.GetRequiredService<ModelHost>();

    /// <summary>Starts the app if needed and waits for the model's first load.</summary>
    public async Task<ServedModel> ReadyAsync()
    {
        _ = Server;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (Host.Current is { } model) return model;
            await Task.Delay(50);
        }
        throw new TimeoutException($"The model was not loaded within 60 s: {Host.LastError}");
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Model", ModelPath);
        foreach (var (key, value) in settings) builder.UseSetting(key, value);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(Folder)) Directory.Delete(Folder, true);
    }
}

/// <summary>
/// The app as users start it, a separate process on loopback (Kestrel, a free port), for the load test and the
/// browser; stopped by its process id at the end.
/// </summary>
public sealed partial class LoopbackApp : IAsyncLifetime
{
    private Process? process;
    private readonly List<string> output = [];

    public Uri BaseAddress { get; private set; } = null!;

    public string Folder { get; } = Fixtures.TempFolder("loopback");

    public int ProcessId => process!.Id;

    public string Output
    {
        get
        {
            lock (output) return string.Join('\n', output);
        }
    }

    public async Task InitializeAsync()
    {
        string model = Path.Combine(Folder, "model.zip");
        File.Copy(Fixtures.Zip("stripes.zip"), model);
        string app = Path.Combine(AppContext.BaseDirectory, "WebApp.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Folder };
        foreach (var a in new[] { app, "--model", model, "--urls", "http://127.0.0.1:0" }) start.ArgumentList.Add(a);
        var address = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        process = new Process { StartInfo = start, EnableRaisingEvents = true };
        void OnLine(string? line)
        {
            if (line is null) return;
            lock (output) output.Add(line);
            var m = Listening().Match(line);
            if (m.Success) address.TrySetResult(new Uri(m.Groups[1].Value));
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Exited += (_, _) => address.TrySetException(new InvalidOperationException($"WebApp exited with code {process.ExitCode}:\n{Output}"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        BaseAddress = await address.Task.WaitAsync(TimeSpan.FromSeconds(120));
        using var client = new HttpClient { BaseAddress = BaseAddress };
        var clock = Stopwatch.StartNew();
        while ((await client.GetAsync("/ready")).StatusCode != System.Net.HttpStatusCode.OK)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(120)) throw new TimeoutException($"/ready stayed 503:\n{Output}");
            await Task.Delay(100);
        }
    }

    /// <summary>The app's resident memory (VmRSS of /proc/PID/status) in bytes.</summary>
    public long ResidentBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{process!.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
        throw new InvalidOperationException("VmRSS not found");
    }

    public Task DisposeAsync()
    {
        if (process is { HasExited: false }) process.Kill(entireProcessTree: true);
        process?.WaitForExit(10_000);
        process?.Dispose();
        Directory.Delete(Folder, true);
        return Task.CompletedTask;
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex Listening();
}

[CollectionDefinition("Loopback")]
public sealed class LoopbackCollection : ICollectionFixture<LoopbackApp>;
