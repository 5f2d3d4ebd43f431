using TorchSharp;
using VitMlNet.Modeling;
using VitMlNet.Tests.Cli;
using VitMlNet.Training;

namespace VitMlNet.Tests.Robustness;

/// <summary>A checkpoint is replaced only by a complete one; <c>vit train --checkpoint DIR
/// --resume</c> continues a killed run to the same weights as an uninterrupted one, and says where it resumes.</summary>
[Collection("Robustness")]
public sealed class CheckpointTests
{
    private readonly CliFixture f;

    public CheckpointTests(CliFixture fixture) => f = fixture;

    [Fact]
    public void AKillWhileACheckpointIsWrittenKeepsThePreviousOne()
    {
        string dir = Robust.TempFolder("ckpt");
        var config = ViTConfig.Tiny with { NumClasses = 3 };
        using var model = new VisionTransformer(config);
        using var optimizer = torch.optim.Adam(model.parameters(), 1e-3);
        try
        {
            Checkpoint.Save(dir, new CheckpointState { EpochsDone = 1 }, model, optimizer, null, null);
            Checkpoint.BeforeCommit = () => throw new IOException("killed while writing the checkpoint");
            try
            {
                Assert.Throws<IOException>(() => Checkpoint.Save(dir, new CheckpointState { EpochsDone = 2 }, model, optimizer, null, null));
            }
            finally
            {
                Checkpoint.BeforeCommit = null;
            }
            Assert.Equal(1, Checkpoint.ReadState(dir)!.EpochsDone);
            using var again = new VisionTransformer(config);
            using var optimizer2 = torch.optim.Adam(again.parameters(), 1e-3);
            Assert.Equal(1, Checkpoint.Load(dir, again, optimizer2, null).EpochsDone);

            // The next complete checkpoint replaces it and removes the older files.
            Checkpoint.Save(dir, new CheckpointState { EpochsDone = 3 }, model, optimizer, null, null);
            Assert.Equal(3, Checkpoint.ReadState(dir)!.EpochsDone);
            Assert.Equal(2, Directory.GetFiles(dir, "*.bin").Length);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void ResumeRefusesABrokenCheckpointInsteadOfRestartingAtEpochOne()
    {
        string dir = Robust.TempFolder("broken");
        try
        {
            File.WriteAllText(Path.Combine(dir, "state.json"), "{ \"EpochsDone\": 2, ");
            var r = Vit.Run(Robust.TrainArgs(f, 2, "--checkpoint", dir, "--resume", "--out", Path.Combine(dir, "m.zip")));
            Assert.True(r.Code == 2, r.ToString());
            Robust.AssertOneErrorLine(r, "train");
            Assert.Contains("cannot resume", r.Err);
            Assert.Contains("state.json", r.Err);
            Assert.False(File.Exists(Path.Combine(dir, "m.zip")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void ResumeRefusesACheckpointOfAnotherArchitecture()
    {
        string dir = Robust.TempFolder("other");
        try
        {
            string checkpoint = Path.Combine(dir, "ckpt");
            var first = Vit.Run(Robust.TrainArgs(f, 1, "--checkpoint", checkpoint, "--out", Path.Combine(dir, "a.zip")));
            Assert.True(first.Code == 0, first.ToString());
            var r = Vit.Run("train", "--data", f.Train.Root, "--preset", "seed", "--image-size", "16", "--epochs", "2", "--checkpoint", checkpoint, "--resume",
                "--out", Path.Combine(dir, "b.zip"));
            Assert.True(r.Code == 2, r.ToString());
            Robust.AssertOneErrorLine(r, "train");
            Assert.Contains($"--resume: cannot resume: Checkpoint '{checkpoint}' (epoch 1) was written by another run:", r.Err);
            Assert.Contains("Architecture.Name tiny (this run: seed)", r.Err);
            Assert.False(File.Exists(Path.Combine(dir, "b.zip")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void ResumeWithoutCheckpointIsAUsageError()
    {
        var r = Vit.Run(Robust.TrainArgs(f, 1, "--resume", "--out", f.NewPath("m.zip")));
        Assert.True(r.Code == 2, r.ToString());
        Assert.Contains("--resume needs --checkpoint", r.Err);
    }

    [Fact]
    public void AKilledRunResumedFromItsCheckpointEndsWithTheWeightsOfAnUninterruptedRun()
    {
        const int epochs = 8;
        string dir = Robust.TempFolder("resume");
        try
        {
            string reference = Path.Combine(dir, "reference.zip");
            // All three runs are child processes (the same libtorch thread count: bit-identical float sums).
            var full = Robust.RunChild(Robust.TrainArgs(f, epochs, "--out", reference));
            Assert.True(full.Code == 0, full.ToString());

            // kill -9 the CLI as soon as its first checkpoint is complete.
            string checkpoint = Path.Combine(dir, "ckpt");
            string resumedZip = Path.Combine(dir, "resumed.zip");
            using (var child = Robust.StartChild(Robust.TrainArgs(f, epochs, "--checkpoint", checkpoint, "--out", resumedZip)))
            {
                child.StandardOutput.ReadToEndAsync();
                child.StandardError.ReadToEndAsync();
                Assert.True(Robust.WaitFor(() => Checkpoint.Exists(checkpoint) || child.HasExited, TimeSpan.FromSeconds(120)), "no checkpoint appeared");
                if (!child.HasExited) child.Kill(entireProcessTree: true); // SIGKILL
                child.WaitForExit();
            }
            Assert.False(File.Exists(resumedZip), "the child finished before it could be killed");
            int done = Checkpoint.ReadState(checkpoint)!.EpochsDone;
            Assert.InRange(done, 1, epochs - 1);

            var resumed = Robust.RunChild(Robust.TrainArgs(f, epochs, "--checkpoint", checkpoint, "--resume", "--out", resumedZip));
            Assert.True(resumed.Code == 0, resumed.ToString());
            Assert.Contains($"resume: continuing from the checkpoint in '{checkpoint}' at epoch {done + 1}", resumed.Out);
            Assert.Equal(Robust.Weights(reference), Robust.Weights(resumedZip));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
