using static VitMlNet.Onnx.OnnxGraphBuilder;

namespace VitMlNet.Onnx.Emitters;

/// <summary>
/// Test-time augmentation (<see cref="ViTOnnxExportOptions.ShiftAverage"/>, <see cref="ViTOnnxExportOptions.FlipAverage"/>):
/// the extra views stacked into the batch, and the averages of the outputs over them.
/// </summary>
internal static class TestTimeViewsEmitter
{
    /// <summary>
    /// The images, then (with ShiftAverage) four copies moved by one pixel (a zero Pad of one pixel, then four Slices),
    /// then (with FlipAverage) the left-right mirror of each of those (a Slice with step −1 over the width), as one batch
    /// of views·N, view-major. Everything downstream reads the batch size from the result; sets <see cref="OnnxEmitContext.Views"/>.
    /// </summary>
    public static string Emit(OnnxEmitContext e, string input)
    {
        var (g, c, o) = (e.G, e.Config, e.Options);
        if (!o.FlipAverage && !o.ShiftAverage) return input;
        var images = g.Node("Reshape", [input, g.Int64s("const.view_image_shape", 0, c.Channels, c.ImageHeight, c.ImageWidth)]);
        var list = new List<string> { images };
        if (o.ShiftAverage)
        {
            var padded = g.Node("Pad", [images, g.Int64s("const.shift_pads", 0, 0, 1, 1, 0, 0, 1, 1)]);
            var shiftAxes = g.Int64s("const.shift_axes", 2, 3);
            foreach (var (dy, dx, name) in new[] { (-1, 0, "down"), (1, 0, "up"), (0, -1, "right"), (0, 1, "left") })
            {
                list.Add(g.Node("Slice", [padded, g.Int64s($"const.shift_{name}_starts", 1 + dy, 1 + dx),
                    g.Int64s($"const.shift_{name}_ends", 1 + dy + c.ImageHeight, 1 + dx + c.ImageWidth), shiftAxes]));
            }
        }
        if (o.FlipAverage)
        {
            var flipStarts = g.Int64s("const.flip_starts", -1);
            var flipEnds = g.Int64s("const.flip_ends", long.MinValue);
            var flipAxes = g.Int64s("const.flip_axes", 3);
            var flipSteps = g.Int64s("const.flip_steps", -1);
            list.AddRange(list.ToArray().Select(view => g.Node("Slice", [view, flipStarts, flipEnds, flipAxes, flipSteps])));
        }
        e.Views = list.Count;
        return g.Node("Concat", [.. list], null, Int("axis", 0));
    }

    /// <summary>[views·N, width] → [views, N, width] → the mean over the views; unchanged with one view.</summary>
    public static string Average(OnnxEmitContext e, string values, long width) => e.Views == 1 ? values
        : e.G.Node("ReduceMean", [e.G.Node("Reshape", [values, e.Constant($"const.view_shape_{width}", e.Views, -1, width)])], null,
            Ints("axes", 0), Int("keepdims", 0));
}
