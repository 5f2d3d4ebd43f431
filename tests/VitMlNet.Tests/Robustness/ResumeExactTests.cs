using System.Diagnostics;
using TorchSharp;
using VitMlNet.Modeling;
using VitMlNet.Tests.Cli;
using VitMlNet.Training;

namespace VitMlNet.Tests.Robustness;

/// <summary>A checkpoint records its options, a fingerprint of its data and a SHA-256 of each weight file:
/// <c>--resume</c> with other options or data, or with a corrupt weight file, is refused (exit 2, one line listing the
/// differences); a checkpoint that cannot be written is a warning and never costs the final model.</summary>
[Collection("Robustness")]
public sealed class ResumeExactTests : IDisposable
{
    private readonly CliFixture f;
    private readonly string dir = Robust.TempFolder("exact");

    public ResumeExactTests(CliFixture fixture) => f = fixture;

    public void Dispose() => Directory.Delete(dir, true);

    private static string[] Args(string data, string checkpoint, string output, string lr = "2e-3", string batch = "16", string seed = "7", int epochs = 2, bool resume = true) =>
        new[] { "train", "--data", data, "--preset", "tiny", "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--batch", batch, "--lr", lr, "--seed", seed,
            "--checkpoint", checkpoint, "--out", output }.Concat(resume ? ["--resume"] : Array.Empty<string>()).ToArray();

    /// <summary>One epoch of the fixture's run with a checkpoint.</summary>
    private string FirstEpoch()
    {
        string checkpoint = Path.Combine(dir, "ckpt");
        var first = Vit.Run(Args(f.Train.Root, checkpoint, Path.Combine(dir, "first.zip"), epochs: 1, resume: false));
        Assert.True(first.Code == 0, first.ToString());
        Assert.Equal(1, Checkpoint.ReadState(checkpoint)!.EpochsDone);
        return checkpoint;
    }

    [Fact]
    public void ResumeWithAnotherLearningRateBatchOrSeedIsRefusedWithTheDifferences()
    {
        string checkpoint = FirstEpoch();
        string output = Path.Combine(dir, "resumed.zip");
        var r = Vit.Run(Args(f.Train.Root, checkpoint, output, lr: "1e-3", batch: "8", seed: "8"));
        Assert.True(r.Code == 2, r.ToString());
        Robust.AssertOneErrorLine(r, "train");
        Assert.Contains($"--resume: cannot resume: Checkpoint '{checkpoint}' (epoch 1) was written by another run:", r.Err);
        Assert.Contains("BatchSize (--batch) 16 (this run: 8)", r.Err);
        Assert.Contains("LearningRate (--lr) 0.002 (this run: 0.001)", r.Err);
        Assert.Contains("Seed (--seed) 7 (this run: 8)", r.Err);
        Assert.DoesNotContain("Data (--data)", r.Err);
        Assert.False(File.Exists(output));

        // The same options continue it.
        r = Vit.Run(Args(f.Train.Root, checkpoint, output));
        Assert.True(r.Code == 0, r.ToString());
        Assert.Contains($"resume: continuing from the checkpoint in '{checkpoint}' at epoch 2", r.Out);
    }

    [Fact]
    public void ResumeWithOtherDataIsRefused()
    {
        string checkpoint = FirstEpoch();
        // The same folder less one image.
        string other = Path.Combine(dir, "other");
        foreach (var row in f.Train.Rows.Skip(1))
        {
            string to = Path.Combine(other, row.Label, Path.GetFileName(row.ImagePath));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(row.ImagePath, to);
        }
        string output = Path.Combine(dir, "resumed.zip");
        var r = Vit.Run(Args(other, checkpoint, output));
        Assert.True(r.Code == 2, r.ToString());
        Robust.AssertOneErrorLine(r, "train");
        Assert.Contains("was written by another run: Data (--data) 60 images 3x16x16", r.Err);
        Assert.Contains("(this run: 59 images 3x16x16", r.Err);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void AFlippedBitInTheCheckpointWeightsIsRefused()
    {
        string checkpoint = FirstEpoch();
        string model = Directory.GetFiles(checkpoint, "model-*.bin").Single();
        byte[] bytes = File.ReadAllBytes(model);
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(model, bytes);

        string output = Path.Combine(dir, "resumed.zip");
        var r = Vit.Run(Args(f.Train.Root, checkpoint, output));
        Assert.True(r.Code == 2, r.ToString());
        Robust.AssertOneErrorLine(r, "train");
        Assert.Contains($"--resume: cannot resume: Checkpoint '{checkpoint}' (epoch 1) is corrupt: '{Path.GetFileName(model)}' has SHA-256", r.Err);
        Assert.False(File.Exists(output));

        // The library refuses it too.
        var config = ViTConfig.Tiny with { NumClasses = 3 };
        using var again = new VisionTransformer(config);
        using var optimizer = torch.optim.Adam(again.parameters(), 1e-3);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(checkpoint, again, optimizer, null));
        Assert.Contains("is corrupt", e.Message);
    }

    [Fact]
    public void ACheckpointThatCannotBeWrittenIsAWarningAndTheModelIsSaved()
    {
        string checkpoint = Path.Combine(dir, "full");
        Directory.CreateDirectory(checkpoint);
        string output = Path.Combine(dir, "model.zip");
        CliResult r;
        // A real full disk where this test may mount one (root): a 5 MiB tmpfs passes the up-front free-space check
        // (4 MiB), and the seed preset's first checkpoint (weights and Adam moments, about 14 MB) fills it. Elsewhere
        // the write fails the same way through the hook between the weight files and state.json.
        bool mounted = TryMountTmpfs(checkpoint, "5m");
        try
        {
            var args = new[] { "train", "--data", f.Train.Root, "--preset", mounted ? "seed" : "tiny", "--image-size", "16", "--epochs", "2",
                "--batch", "16", "--seed", "7", "--checkpoint", checkpoint, "--out", output };
            if (mounted)
            {
                r = Vit.Run(args);
            }
            else
            {
                Checkpoint.BeforeCommit = () => throw new IOException("No space left on device");
                try
                {
                    r = Vit.Run(args);
                }
                finally
                {
                    Checkpoint.BeforeCommit = null;
                }
            }
            Assert.True(r.Code == 0, r.ToString());
            Assert.True(File.Exists(output), r.ToString());
            var warnings = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains("cannot write the checkpoint", StringComparison.Ordinal)).ToList();
            var line = Assert.Single(warnings);
            Assert.StartsWith($"vit train: warning: cannot write the checkpoint in '{checkpoint}' after epoch 1 (", line);
            Assert.Contains("checkpointing stops for this run and training goes on", line);
            Assert.Contains("No space left on device", line);
            Assert.False(Checkpoint.Exists(checkpoint));
            Assert.Empty(Directory.GetFiles(checkpoint, "*.bin"));
        }
        finally
        {
            if (mounted) Unmount(checkpoint);
        }
    }

    private static bool TryMountTmpfs(string folder, string size)
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root") return false;
        using var mount = Process.Start(new ProcessStartInfo("mount", ["-t", "tmpfs", "-o", "size=" + size, "tmpfs", folder])
            { RedirectStandardError = true, RedirectStandardOutput = true });
        if (mount is null) return false;
        mount.WaitForExit();
        return mount.ExitCode == 0;
    }

    private static void Unmount(string folder)
    {
        using var umount = Process.Start(new ProcessStartInfo("umount", [folder]) { RedirectStandardError = true, RedirectStandardOutput = true });
        umount?.WaitForExit();
    }
}
