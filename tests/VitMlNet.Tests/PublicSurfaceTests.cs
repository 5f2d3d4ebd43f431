using System.Reflection;

namespace VitMlNet.Tests;

/// <summary>The public surface is the ML.NET surface: catalog, options, trainer, transformer, recipes, pipeline,
/// experiment, pool, zip contract, readers and checkpoint import. Everything else is internal (the tests and the
/// CLI reach it through InternalsVisibleTo), so the count of public types stays small enough to read in one sitting.</summary>
public class PublicSurfaceTests
{
    private const int MaxPublicTypes = 45;

    private static readonly Assembly[] Assemblies =
        [typeof(VisionTransformerTrainer).Assembly, typeof(VitMlNet.Scoring.ModelInput).Assembly];

    [Fact]
    public void TheLibraryAndTheScoringAssemblyExportAtMost45TypesTogether()
    {
        // GetExportedTypes lists nested public types of public types too.
        var names = Assemblies.SelectMany(a => a.GetExportedTypes()).Select(t => t.FullName!).Order(StringComparer.Ordinal).ToArray();
        Assert.True(names.Length <= MaxPublicTypes,
            $"{names.Length} public types (at most {MaxPublicTypes}): {string.Join(", ", names)}");
    }
}
