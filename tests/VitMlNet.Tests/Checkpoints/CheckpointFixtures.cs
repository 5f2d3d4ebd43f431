using System.Text.Json.Nodes;

namespace VitMlNet.Tests.Checkpoints;

/// <summary>The committed checkpoints of Fixtures/checkpoints (written once by make_fixtures.py) and their reference logits.</summary>
internal static class CheckpointFixtures
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "Fixtures", "checkpoints");

    public static string PathOf(string name) => Path.Combine(Folder, name);

    /// <summary>Attention heads of every fixture (its width, 32, is below the 64-wide-heads rule).</summary>
    public const int Heads = 2;

    private static readonly Lazy<JsonObject> Reference = new(() => JsonNode.Parse(File.ReadAllText(PathOf("reference.json")))!.AsObject());

    /// <summary>The reference logits [2, classes] of a fixture key (file name, or file@size), flattened.</summary>
    public static float[] Logits(string key) =>
        Reference.Value["fixtures"]![key]!["logits"]!.AsArray().SelectMany(row => row!.AsArray().Select(v => v!.GetValue<float>())).ToArray();

    /// <summary>The fixtures' pixels: p[i] = ((i·1103515245 + 12345) mod 2³¹ ≫ 16) mod 256 over [2, 3, size, size].</summary>
    public static float[] Pixels(int size)
    {
        var data = new float[2 * 3 * size * size];
        for (long i = 0; i < data.Length; i++) data[i] = (((i * 1103515245 + 12345) % 2147483648) >> 16) % 256;
        return data;
    }
}
