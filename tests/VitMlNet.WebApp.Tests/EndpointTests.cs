using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using VitMlNet.ScoringOnly.Tests;

namespace VitMlNet.WebApp.Tests;

/// <summary>The endpoints in-process: the JSON's shape, the codes, the limits, hostile uploads.</summary>
public sealed class EndpointTests : IClassFixture<WebAppFactory>
{
    private readonly WebAppFactory app;

    public EndpointTests(WebAppFactory app) => this.app = app;

    [Fact]
    public async Task PredictAnswersTheLabelTheTop5TheModelAndTheTime()
    {
        var served = await app.ReadyAsync();
        using var client = app.CreateClient();
        // Each class at another size than the model's 16x16 input: the model learned the stripes, not the size.
        foreach (var (kind, expected, size) in new[] { (0, "horizontal", 48), (1, "vertical", 32), (2, "checker", 64) })
        {
            using var response = await client.PostAsync("/predict", Fixtures.Upload(Fixtures.StripesPng(kind, size, seed: 10 + kind), $"{expected}.png"));
            string body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            Assert.Equal(["predictedLabel", "top5", "model", "elapsedMs"], root.EnumerateObject().Select(p => p.Name));
            Assert.Equal(expected, root.GetProperty("predictedLabel").GetString());
            var top = root.GetProperty("top5").EnumerateArray().Select(t => (Label: t.GetProperty("label").GetString()!, Score: t.GetProperty("score").GetSingle())).ToArray();
            Assert.Equal(3, top.Length); // the model has three classes: all of them, most probable first
            Assert.Equal(expected, top[0].Label);
            Assert.Equal(Fixtures.Classes, top.Select(t => t.Label).Order(StringComparer.Ordinal));
            Assert.True(top.Zip(top.Skip(1)).All(p => p.First.Score >= p.Second.Score));
            Assert.InRange(top.Sum(t => t.Score), 0.999f, 1.001f);
            Assert.True(top[0].Score > 0.9f, $"{expected}: {top[0].Score}");
            Assert.Equal("model.zip", root.GetProperty("model").GetProperty("name").GetString());
            Assert.Equal(served.Version, root.GetProperty("model").GetProperty("version").GetString());
            Assert.Matches("^[0-9a-f]{12}$", served.Version);
            Assert.InRange(root.GetProperty("elapsedMs").GetDouble(), 0.001, 60_000);
        }
    }

    [Fact]
    public async Task HealthReadyModelOpenApiAndThePageAnswer()
    {
        var served = await app.ReadyAsync();
        using var client = app.CreateClient();
        Assert.Equal("ok", (await client.GetFromJsonAsync<JsonElement>("/health")).GetProperty("status").GetString());
        var ready = await client.GetFromJsonAsync<JsonElement>("/ready");
        Assert.True(ready.GetProperty("ready").GetBoolean());
        Assert.Equal(served.Version, ready.GetProperty("model").GetProperty("version").GetString());

        var model = await client.GetFromJsonAsync<JsonElement>("/model");
        var info = model.GetProperty("info");
        Assert.Equal(Fixtures.Classes, info.GetProperty("classNames").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(16, info.GetProperty("imageWidth").GetInt32());
        Assert.Equal(3, info.GetProperty("channels").GetInt32());
        Assert.Equal("tiny", info.GetProperty("architectureName").GetString());

        var openApi = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var paths = openApi.GetProperty("paths");
        foreach (string path in new[] { "/predict", "/health", "/ready", "/model" }) Assert.True(paths.TryGetProperty(path, out _), path);
        var responses = paths.GetProperty("/predict").GetProperty("post").GetProperty("responses");
        foreach (string code in new[] { "200", "400", "413", "503" }) Assert.True(responses.TryGetProperty(code, out _), code);

        using var page = await client.GetAsync("/");
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        string html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<label for=\"image-input\"", html);
        Assert.Contains("<script src=\"app.js\">", html);
        Assert.Contains("fetch('predict'", await client.GetStringAsync("/app.js"));
        Assert.Contains(".bars", await client.GetStringAsync("/app.css"));
    }

    [Fact]
    public async Task WhatIsNotAnImageIs400WithAOneLineReason()
    {
        await app.ReadyAsync();
        using var client = app.CreateClient();
        byte[] good = Fixtures.StripesPng(1, 64);
        var cases = new (HttpContent Content, string Reason)[]
        {
            (Fixtures.Upload(Encoding.UTF8.GetBytes("name,label\na.png,cat\n"), "labels.csv", contentType: "text/csv"), "Image 'labels.csv' cannot be loaded: not a recognised image format"),
            (Fixtures.Upload(good[..(good.Length / 2)], "cut.png"), "Image 'cut.png' cannot be loaded: truncated image data"),
            (Fixtures.Upload([], "empty.png"), "Image 'empty.png' cannot be loaded: the file is empty"),
            (Fixtures.Upload(good, "photo.png", field: "file"), "no file in the multipart field 'image' (fields sent: 'file')"),
        };
        foreach (var (content, reason) in cases)
        {
            using var response = await client.PostAsync("/predict", content);
            string body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{reason}: {response.StatusCode}: {body}");
            string error = JsonDocument.Parse(body).RootElement.GetProperty("error").GetString()!;
            Assert.StartsWith(reason, error);
            Assert.DoesNotContain('\n', error);
        }

        // Not a form upload at all: the endpoint accepts multipart/form-data only.
        using var json = await client.PostAsync("/predict", new StringContent("{\"image\":\"a.png\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, json.StatusCode);
    }

    [Fact]
    public async Task ADecompressionBombIs400WithinASecond()
    {
        await app.ReadyAsync();
        using var client = app.CreateClient();
        byte[] bomb = CraftedPng.Bomb(40_000, 40_000);
        Assert.True(bomb.Length < 64 * 1024);
        using (var warm = await client.PostAsync("/predict", Fixtures.Upload(Fixtures.StripesPng(0), "warm.png"))) Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        var clock = Stopwatch.StartNew();
        using var response = await client.PostAsync("/predict", Fixtures.Upload(bomb, "bomb.png"));
        clock.Stop();
        string error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString()!;
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("Image 'bomb.png' cannot be loaded: its header declares 40000 x 40000 = 1,600,000,000 pixels, more than the maximum of 100,000,000 pixels.", error);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"{clock.Elapsed.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task AnUploadOverTheDefault20MBIs413()
    {
        await app.ReadyAsync();
        using var client = app.CreateClient();
        byte[] big = new byte[(20 * 1024 * 1024) + 1];
        // With a Content-Length: refused from the header.
        using (var response = await client.PostAsync("/predict", Fixtures.Upload(big, "big.png")))
        {
            string error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString()!;
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Matches(@"^the upload is 20,971,[0-9]{3} bytes, more than the limit of 20,971,520 bytes$", error);
        }

        // Chunked (no Content-Length): refused as the body passes the limit.
        var chunked = Fixtures.Upload(big, "big.png");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/predict") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        using (var response = await client.SendAsync(request))
        {
            string error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString()!;
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Equal("the upload is more than the limit of 20,971,520 bytes", error);
        }
    }

    [Fact]
    public void TheAppReferencesTheScoringPackageAndNoTorchSharp()
    {
        var references = typeof(Program).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToArray();
        Assert.Contains("VitMlNet.Scoring", references);
        Assert.DoesNotContain(references, n => n.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase) || n is "VitMlNet" or "vit");
        string output = Path.GetDirectoryName(typeof(Program).Assembly.Location)!;
        Assert.False(File.Exists(Path.Combine(output, "TorchSharp.dll")));
        Assert.False(File.Exists(Path.Combine(output, "VitMlNet.dll")));
        Assert.Empty(Directory.GetFiles(output, "libtorch*"));
    }
}
