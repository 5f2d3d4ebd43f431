using Microsoft.ML;
using VitMlNet.Cli;
using VitMlNet.IO;
using VitMlNet.Tests.Cli;

namespace VitMlNet.Tests.Robustness;

/// <summary>Every file is written to a temporary file, flushed and renamed; a failed save
/// falls back to another path and says where.</summary>
[Collection("Robustness")]
public sealed class AtomicWriteTests
{
    private readonly CliFixture f;

    public AtomicWriteTests(CliFixture fixture) => f = fixture;

    [Fact]
    public void AWriteThatFailsHalfWayLeavesThePreviousFileAndNoTemporaryFile()
    {
        string dir = Robust.TempFolder("atomic");
        try
        {
            string path = Path.Combine(dir, "model.zip");
            File.WriteAllText(path, "the previous model");
            var e = Assert.Throws<IOException>(() => AtomicFile.Write(path, s =>
            {
                s.Write(new byte[976]);
                throw new IOException("killed half-way");
            }));
            Assert.Equal("killed half-way", e.Message);
            Assert.Equal("the previous model", File.ReadAllText(path));
            Assert.Equal(new[] { path }, Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void AFileThatFailsItsCheckNeverReplacesTheTarget()
    {
        // export-onnx verifies the exported model in ONNX Runtime this way: a failed check leaves no .onnx behind.
        string dir = Robust.TempFolder("verify");
        try
        {
            string path = Path.Combine(dir, "model.onnx");
            Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s => s.Write(new byte[10]), _ => throw new InvalidOperationException("bad graph")));
            Assert.Empty(Directory.GetFiles(dir));
            AtomicFile.Write(path, s => s.Write(new byte[10]), temp => Assert.Equal(10, new FileInfo(temp).Length));
            Assert.Equal(10, new FileInfo(path).Length);
            Assert.Single(Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void TrainReplacesAnExistingModelOnlyWithACompleteOne()
    {
        string dir = Robust.TempFolder("replace");
        try
        {
            string path = Path.Combine(dir, "model.zip");
            File.Copy(f.Model, path);
            var r = Vit.Run(Robust.TrainArgs(f, 1, "--out", path));
            Assert.True(r.Code == 0, r.ToString());
            Assert.Equal(new[] { path }, Directory.GetFiles(dir));
            ZipIntegrity.Verify(path);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void TheFallbackForAModelThatCannotBeSavedOutlivesTheProcess()
    {
        // The process's private temporary folder (TMPDIR while vit runs, and in this test process) is deleted at exit.
        var fallbacks = OutputChecks.FallbackPaths("m.zip").ToList();
        Assert.NotEmpty(fallbacks);
        Assert.Equal(Path.GetFullPath(PrivateTemp.SystemFolder), Path.GetFullPath(Path.GetDirectoryName(fallbacks[0])! + Path.DirectorySeparatorChar));
        Assert.DoesNotContain(fallbacks, p => Path.GetFullPath(p).StartsWith(Path.GetFullPath(PrivateTemp.Folder), StringComparison.Ordinal));
    }

    [Fact]
    public void ASaveThatFailsAtTheEndWritesTheModelToAFallbackAndSaysWhere()
    {
        string dir = Robust.TempFolder("fallback");
        try
        {
            var ml = new MLContext(0);
            var model = ml.Model.Load(f.Model, out _);
            File.WriteAllText(Path.Combine(dir, "blocker"), "a file where a folder should be");
            string target = Path.Combine(dir, "blocker", "model.zip");
            var stderr = new StringWriter();
            var (saved, atTarget) = OutputChecks.SaveModel(ml, model, target, "train", stderr);
            try
            {
                Assert.False(atTarget);
                Assert.NotEqual(target, saved);
                Assert.True(File.Exists(saved));
                ZipIntegrity.Verify(saved);
                Assert.Contains($"the model was saved to '{saved}' instead", stderr.ToString());
                Assert.StartsWith("vit train: error: cannot write", stderr.ToString());
            }
            finally
            {
                File.Delete(saved);
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
