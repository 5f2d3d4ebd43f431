using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using VitMlNet.Samples.WebApp;

namespace VitMlNet.WebApp.Tests;

/// <summary>The zip replaced on disk: swapped atomically, in-flight requests finish on the old model, which is then disposed.</summary>
public sealed class ReloadTests
{
    [Fact]
    public async Task AReplacedZipIsServedAndTheOldModelIsDisposedWhenItsLastRequestEnds()
    {
        using var app = new WebAppFactory("stripes.zip", ("ReloadDelayMs", "100"));
        var first = await app.ReadyAsync();
        using var client = app.CreateClient();
        byte[] vertical = Fixtures.StripesPng(1, 32, seed: 4);

        // A request in flight on the first model (its lease taken, scoring still to come).
        var inFlight = app.Host.Acquire()!;
        Assert.Same(first, inFlight.Model);

        // Replaced as careful writers do: a complete temporary file renamed over the zip.
        string temporary = Path.Combine(app.Folder, ".model.zip.tmp");
        File.Copy(Fixtures.Zip("stripes-renamed.zip"), temporary);
        File.Move(temporary, app.ModelPath, overwrite: true);
        var second = await WaitForNewModel(app, first);
        Assert.Equal(Fixtures.RenamedClasses, second.ClassNames);

        var answer = await Predict(client, vertical);
        Assert.Equal("columns", answer.GetProperty("predictedLabel").GetString());
        Assert.Equal(second.Version, answer.GetProperty("model").GetProperty("version").GetString());
        Assert.Equal(Fixtures.RenamedClasses, (await client.GetFromJsonAsync<JsonElement>("/model")).GetProperty("info").GetProperty("classNames").EnumerateArray().Select(c => c.GetString()));

        // The old model still serves the request that holds it, then goes away with it.
        Assert.False(first.IsDisposed);
        using (var image = VitMlNet.Scoring.SafeImage.Load(vertical, "in-flight.png"))
            Assert.Equal("vertical", inFlight.Predict(image).PredictedLabel);
        inFlight.Dispose();
        Assert.True(first.IsDisposed);
        Assert.False(second.IsDisposed);
    }

    [Fact]
    public async Task AZipThatCannotBeLoadedLeavesTheCurrentModelServingUntilAGoodOneArrives()
    {
        using var app = new WebAppFactory("stripes.zip", ("ReloadDelayMs", "100"));
        var first = await app.ReadyAsync();
        using var client = app.CreateClient();

        // Written in place, not a model: the load fails, the first model keeps answering.
        await File.WriteAllTextAsync(app.ModelPath, "not a zip");
        var clock = Stopwatch.StartNew();
        while (app.Host.LastError is null && clock.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(50);
        Assert.NotNull(app.Host.LastError);
        Assert.StartsWith($"cannot load '{app.ModelPath}'", app.Host.LastError);
        Assert.Same(first, app.Host.Current);
        Assert.Equal("horizontal", (await Predict(client, Fixtures.StripesPng(0))).GetProperty("predictedLabel").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/ready")).StatusCode);

        File.Copy(Fixtures.Zip("stripes-renamed.zip"), app.ModelPath, overwrite: true);
        var second = await WaitForNewModel(app, first);
        Assert.Null(app.Host.LastError);
        Assert.True(first.IsDisposed);
        Assert.Equal("rows", (await Predict(client, Fixtures.StripesPng(0))).GetProperty("predictedLabel").GetString());
        Assert.Equal(Fixtures.RenamedClasses, second.ClassNames);
    }

    private static async Task<ServedModel> WaitForNewModel(WebAppFactory app, ServedModel old)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (app.Host.Current is { } now && now != old) return now;
            await Task.Delay(50);
        }
        throw new TimeoutException($"The replaced zip was not loaded within 60 s ({app.Host.LastError}).");
    }

    private static async Task<JsonElement> Predict(HttpClient client, byte[] png)
    {
        using var response = await client.PostAsync("/predict", Fixtures.Upload(png, "photo.png"));
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, json.ToString());
        return json;
    }
}
