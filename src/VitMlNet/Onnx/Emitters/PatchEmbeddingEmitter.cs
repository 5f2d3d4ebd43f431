using static VitMlNet.Onnx.OnnxGraphBuilder;

namespace VitMlNet.Onnx.Emitters;

/// <summary>The ONNX twin of <see cref="Modeling.PatchEmbedding"/> (the reference's stem): patchify, then LayerNorm → Linear → LayerNorm.</summary>
internal static class PatchEmbeddingEmitter
{
    /// <summary>Raw pixels (either input layout) → tokens [N, patches, dim].</summary>
    public static string Emit(OnnxEmitContext e, string input)
    {
        var (g, c) = (e.G, e.Config);
        int p = c.PatchSize, gh = c.ImageHeight / p, gw = c.ImageWidth / p;
        // Patchify in (p1 p2 c) order; a Reshape copying dim 0 serves both layouts.
        var x = g.Node("Reshape", [input, g.Int64s("const.grid_shape", 0, c.Channels, gh, p, gw, p)]);
        x = g.Node("Transpose", [x], null, Ints("perm", 0, 2, 4, 3, 5, 1));
        x = g.Node("Reshape", [x, g.Int64s("const.patches_shape", 0, c.NumPatches, c.PatchDim)]);

        // Pixel scale and per-channel mean/std folded into one Mul + Add over the patch vector (channel is its fastest axis).
        var (mul, add) = e.PixelAffine();
        float[] PerPatchValue(float[] perChannel) => Enumerable.Range(0, c.PatchDim).Select(i => perChannel[i % c.Channels]).ToArray();
        x = g.Node("Mul", [x, g.Floats("const.pixel_mul", PerPatchValue(mul), c.PatchDim)]);
        x = g.Node("Add", [x, g.Floats("const.pixel_add", PerPatchValue(add), c.PatchDim)]);

        x = e.LayerNorm(x, "embed.0");
        x = e.Linear(x, "embed.1");
        return e.LayerNorm(x, "embed.2");
    }
}
