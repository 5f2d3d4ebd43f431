using System.Diagnostics;
using VitMlNet.ScoringOnly.Tests;
using VitMlNet.Tests.Cli;

namespace VitMlNet.Tests.Robustness;

/// <summary>A small PNG whose header claims 40,000 x 40,000 pixels: refused from the header, before any pixel is allocated.</summary>
[Collection("Robustness")]
public sealed class ImageBombTests
{
    private readonly CliFixture f;

    public ImageBombTests(CliFixture fixture) => f = fixture;

    [Fact]
    public void PredictRefusesADecompressionBombFromItsHeaderAndScoresTheOtherImages()
    {
        string root = Robust.TempFolder("bomb-predict");
        try
        {
            string bomb = Path.Combine(root, "bomb.png");
            File.WriteAllBytes(bomb, CraftedPng.Bomb(40_000, 40_000));
            string good = f.Test.Rows[0].ImagePath;
            long peakBefore = PeakResidentBytes();
            var clock = Stopwatch.StartNew();
            var r = Vit.Run("predict", f.Model, bomb, good);
            clock.Stop();
            long peakGrowth = PeakResidentBytes() - peakBefore;

            Assert.True(r.Code == 1, r.ToString());
            Assert.Contains(good, r.Out);
            Assert.DoesNotContain(bomb, r.Out);
            Robust.AssertOneErrorLine(r, "predict");
            Assert.Contains($"{bomb}: cannot read the image: its header declares 40000 x 40000 = 1,600,000,000 pixels, more than the maximum of 100,000,000 pixels", r.Err);
            // Loading the model and scoring the good image included; the bomb alone would take 6.4 GB and minutes.
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"predict took {clock.Elapsed.TotalSeconds:F1} s");
            Assert.True(peakGrowth < 500L * 1024 * 1024, $"peak resident memory grew by {peakGrowth / (1024 * 1024)} MiB");
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    [Fact]
    public void TrainingDataWithADecompressionBombIsBadInputNamingTheFile()
    {
        string root = Robust.TempFolder("bomb-train");
        try
        {
            foreach (var row in f.Train.Rows.Take(12))
            {
                string dir = Path.Combine(root, row.Label);
                Directory.CreateDirectory(dir);
                File.Copy(row.ImagePath, Path.Combine(dir, Path.GetFileName(row.ImagePath)));
            }
            string bomb = Path.Combine(root, f.Train.Rows[0].Label, "bomb.png");
            File.WriteAllBytes(bomb, CraftedPng.Bomb(40_000, 40_000));
            var r = Vit.Run("train", "--data", root, "--preset", "tiny", "--epochs", "1", "--out", Path.Combine(Path.GetTempPath(), $"vit-bomb-{Guid.NewGuid():N}.zip"));
            Assert.True(r.Code == 2, r.ToString());
            Robust.AssertOneErrorLine(r, "train");
            Assert.Contains($"'{bomb}' cannot be decoded: its header declares 40000 x 40000 = 1,600,000,000 pixels, more than the maximum of 100,000,000 pixels", r.Err);
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    private static long PeakResidentBytes() => CraftedPng.PeakResidentBytes() ?? 0;
}
