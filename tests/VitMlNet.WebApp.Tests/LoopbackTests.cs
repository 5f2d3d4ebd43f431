using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace VitMlNet.WebApp.Tests;

/// <summary>The app as a separate process on loopback: under load, with an oversized upload, and in a real browser.</summary>
[Collection("Loopback")]
public sealed class LoopbackTests
{
    private readonly LoopbackApp app;
    private readonly ITestOutputHelper log;

    public LoopbackTests(LoopbackApp app, ITestOutputHelper log)
    {
        this.app = app;
        this.log = log;
    }

    /// <summary>Where the tests keep what a person may want to look at (the page's screenshot, the load figures).</summary>
    private static string Artifacts()
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "TestResults");
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    public async Task EightClientsOf25RequestsGetNoErrorAndTheServersMemoryStaysFlat()
    {
        // 512x512 photos (small files without noise): a decoded image that leaked would cost 1 MiB a request, 200 MiB a round.
        var photos = Enumerable.Range(0, 3).Select(k => (Bytes: Fixtures.StripesPng(k, 512, noise: false), Label: new[] { "horizontal", "vertical", "checker" }[k])).ToArray();
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 8 }) { BaseAddress = app.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

        async Task<(double[] Ms, List<string> Errors, double Seconds)> Round(int clients, int requests)
        {
            var latencies = new List<double>();
            var errors = new List<string>();
            var wall = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
            {
                for (int r = 0; r < requests; r++)
                {
                    var photo = photos[(c + r) % photos.Length];
                    var clock = Stopwatch.StartNew();
                    try
                    {
                        using var response = await client.PostAsync("/predict", Fixtures.Upload(photo.Bytes, "photo.png"));
                        string body = await response.Content.ReadAsStringAsync();
                        clock.Stop();
                        string? label = response.IsSuccessStatusCode ? JsonDocument.Parse(body).RootElement.GetProperty("predictedLabel").GetString() : null;
                        lock (errors)
                        {
                            if (label != photo.Label) errors.Add($"{(int)response.StatusCode} {body}");
                            latencies.Add(clock.Elapsed.TotalMilliseconds);
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        lock (errors) errors.Add(e.Message);
                    }
                }
            })));
            return (latencies.Order().ToArray(), errors, wall.Elapsed.TotalSeconds);
        }

        static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

        var warmUp = await Round(8, 5);
        Assert.Empty(warmUp.Errors);
        var rounds = new List<(double[] Ms, List<string> Errors, double Seconds, long Rss)>();
        for (int round = 0; round < 2; round++)
        {
            var r = await Round(8, 25);
            await Task.Delay(500);
            rounds.Add((r.Ms, r.Errors, r.Seconds, app.ResidentBytes()));
        }

        // The peer in the same run: the same clients on GET /health, the HTTP stack alone.
        var peer = new List<double>();
        var peerWall = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (int r = 0; r < 25; r++)
            {
                var clock = Stopwatch.StartNew();
                using var response = await client.GetAsync("/health");
                await response.Content.ReadAsStringAsync();
                lock (peer) peer.Add(response.IsSuccessStatusCode ? clock.Elapsed.TotalMilliseconds : double.NaN);
            }
        })));
        double peerSeconds = peerWall.Elapsed.TotalSeconds;
        var peerMs = peer.Order().ToArray();
        Assert.DoesNotContain(double.NaN, peerMs);

        var inv = CultureInfo.InvariantCulture;
        var report = new StringBuilder();
        report.AppendLine(string.Format(inv, "WebApp load test: POST /predict, 8 concurrent clients x 25 requests per round, 512x512 PNG uploads, loopback, {0} cores", Environment.ProcessorCount));
        for (int i = 0; i < rounds.Count; i++)
        {
            var r = rounds[i];
            report.AppendLine(string.Format(inv, "round {0}: {1} requests, {2} errors, {3:F1} requests/s, p50 {4:F1} ms, p99 {5:F1} ms, server RSS {6:F0} MiB",
                i + 1, r.Ms.Length, r.Errors.Count, r.Ms.Length / r.Seconds, Percentile(r.Ms, 0.50), Percentile(r.Ms, 0.99), r.Rss / (1024.0 * 1024)));
        }
        report.AppendLine(string.Format(inv, "peer, GET /health with the same clients: {0} requests, {1:F1} requests/s, p50 {2:F1} ms, p99 {3:F1} ms",
            peerMs.Length, peerMs.Length / peerSeconds, Percentile(peerMs, 0.50), Percentile(peerMs, 0.99)));
        log.WriteLine(report.ToString());
        Console.WriteLine(report.ToString());
        File.WriteAllText(Path.Combine(Artifacts(), "webapp-load.txt"), report.ToString());

        foreach (var r in rounds)
        {
            Assert.True(r.Errors.Count == 0, string.Join('\n', r.Errors.Take(5)));
            Assert.Equal(200, r.Ms.Length);
        }
        // Flat: the second round may not add what a leaked image per request would (200 MiB); 100 MiB of slack
        // leaves the GC's and ONNX Runtime's ordinary breathing room.
        long growth = rounds[1].Rss - rounds[0].Rss;
        Assert.True(growth < 100L * 1024 * 1024, $"server RSS grew by {growth / (1024 * 1024)} MiB between rounds\n{report}");
    }

    [Fact]
    public async Task AnOversizedUploadIs413BeforeItsBodyIsSent()
    {
        // Expect: 100-continue: the client sends the body only when the server asks for it. The 413 must come first.
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(app.BaseAddress.Host, app.BaseAddress.Port);
        var stream = tcp.GetStream();
        string head = $"POST /predict HTTP/1.1\r\nHost: {app.BaseAddress.Authority}\r\nContent-Type: multipart/form-data; boundary=x\r\n" +
            "Content-Length: 30000000\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var read = reader.ReadToEndAsync();
        string response = await read.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.StartsWith("HTTP/1.1 413", response);
        Assert.DoesNotContain("100 Continue", response);
        Assert.Contains("{\"error\":\"the upload is 30,000,000 bytes, more than the limit of 20,971,520 bytes\"}", response);
    }

    [Fact]
    public async Task ThePageShowsTheUploadedPhotoItsLabelAndTheTop5Bars()
    {
        const string chromium = "/usr/bin/chromium";
        Assert.True(File.Exists(chromium), $"{chromium} is missing: the browser test drives Debian's chromium (apt-get install chromium).");
        string photo = Path.Combine(app.Folder, "vertical-stripes.png");
        await File.WriteAllBytesAsync(photo, Fixtures.StripesPng(1, 256, seed: 7));
        string profile = Fixtures.TempFolder("chromium-profile");
        try
        {
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchPersistentContextAsync(profile, new BrowserTypeLaunchPersistentContextOptions
            {
                ExecutablePath = chromium,
                Headless = true,
                Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync"],
                ViewportSize = new ViewportSize { Width = 900, Height = 560 },
                Timeout = 60_000,
            });
            var page = browser.Pages.Count > 0 ? browser.Pages[0] : await browser.NewPageAsync();
            page.SetDefaultTimeout(30_000);
            await page.GotoAsync(app.BaseAddress.ToString());
            await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Image classifier" })).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator("#model-info")).ToContainTextAsync("3 classes");

            // The accessible label is how a person (and this test) finds the file chooser.
            await page.GetByLabel("Choose a photo").SetInputFilesAsync(photo);
            await Assertions.Expect(page.Locator("#predicted-label")).ToHaveTextAsync("vertical");
            await Assertions.Expect(page.GetByAltText("The photo being classified: vertical-stripes.png")).ToBeVisibleAsync();
            var bars = page.GetByRole(AriaRole.Progressbar);
            await Assertions.Expect(bars).ToHaveCountAsync(3);
            string first = (await bars.First.GetAttributeAsync("aria-label"))!;
            Assert.Matches(@"^vertical: (9\d|100)\.\d%$", first);
            await Assertions.Expect(page.Locator("#top5 li").First.Locator(".pct")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d+\.\d%$"));
            var width = await page.Locator("#top5 li .bar span").First.EvaluateAsync<double>("e => e.getBoundingClientRect().width / e.parentElement.getBoundingClientRect().width");
            Assert.InRange(width, 0.85, 1.0);

            string screenshot = Path.Combine(Artifacts(), "webapp-page.png");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
            Assert.True(new FileInfo(screenshot).Length > 1000);
            log.WriteLine($"screenshot: {screenshot}");
        }
        finally
        {
            Directory.Delete(profile, true);
        }
    }
}
