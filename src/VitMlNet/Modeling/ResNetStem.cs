using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VitMlNet.Modeling;

/// <summary>
/// The hybrid ViT's patch embedding (Dosovitskiy et al., arXiv 2010.11929, section 3.1): the early stages of a ResNet18
/// (7×7 stride-2 convolution, 3×3 stride-2 max-pool, then the basic blocks of each stage: 2, 2, 2 and 3, as in
/// the network ML.NET ships) turn the image into a feature
/// map with stride <see cref="ViTConfig.PatchSize"/>, and a 1×1 convolution projects each of its cells to a token.
/// The ResNet's BatchNorms are folded into its convolutions (each convolution has a bias), so the backbone is the same
/// function in training and scoring; <c>ResNet18Weights</c> loads ML.NET's pretrained ImageNet ResNet18
/// into it. Output: [N, (H/p)·(W/p), dim], row-major over the grid like <see cref="PatchEmbedding"/>.
/// </summary>
/// <remarks>
/// Stages: patch 4 → conv1, max-pool and layer1 (64 channels); 8 → + layer2 (128); 16 → + layer3 (256); 32 → + layer4
/// (512). Padding follows the pretrained network (CNTK's "same" padding): stride-2 convolutions and the max-pool pad one
/// more pixel before than after (conv1: 3 before, 2 after; 3×3 ones: 1 before, 0 after), so an H×W image gives exactly
/// H/p × W/p cells. Parameter names: <c>stem.backbone.conv1.*</c>, <c>stem.backbone.layer{s}.{b}.conv1/conv2/downsample.*</c>
/// (torchvision's, see <see cref="Layout"/>) and <c>stem.proj.*</c>.
/// </remarks>
internal sealed class ResNetStem : Module<Tensor, Tensor>, IStem
{
    private readonly BackboneModule backboneRoot;
    private readonly Conv2d proj;

    /// <summary>Creates the stem for <paramref name="config"/> (which must use <see cref="ViTStem.ResNet18"/>), randomly initialized.</summary>
    public ResNetStem(ViTConfig config) : base(nameof(ResNetStem))
    {
        int stages = Stages(config);
        var root = new BackboneModule(Conv2d(3, 64, 7, stride: 2, bias: true));
        for (int s = 1; s <= stages; s++)
        {
            int width = StageWidth(s), inWidth = s == 1 ? 64 : StageWidth(s - 1);
            var blocks = ModuleList<Module<Tensor, Tensor>>(Enumerable.Range(0, Blocks(config, s))
                .Select(b => (Module<Tensor, Tensor>)new BasicBlock(b == 0 ? inWidth : width, width, b == 0 && s > 1 ? 2 : 1)).ToArray());
            root.AddLayer($"layer{s}", blocks);
        }
        backboneRoot = root;
        proj = Conv2d(StageWidth(stages), config.Dim, 1, bias: true);
        register_module("backbone", root);
        register_module("proj", proj);
    }

    /// <summary>The stem itself, registered by the model as <c>stem</c>.</summary>
    public (string Name, Module Module) Registration => ("stem", this);

    /// <summary>The parameters for <paramref name="config"/>: every backbone convolution's weight and bias (in <see cref="Layout"/>'s
    /// order), then the 1×1 projection's.</summary>
    public static IEnumerable<(string Name, long[] Shape)> ParameterLayout(ViTConfig config)
    {
        var list = new List<(string, long[])>();
        foreach (var (name, inChannels, outChannels, kernel, _) in Layout(config))
        {
            list.Add(($"{name}.weight", [outChannels, inChannels, kernel, kernel]));
            list.Add(($"{name}.bias", [outChannels]));
        }
        list.Add(("stem.proj.weight", [config.Dim, FeatureChannels(config), 1, 1]));
        list.Add(("stem.proj.bias", [config.Dim]));
        return list;
    }

    /// <summary>What the stem requires of <paramref name="config"/> and finds wrong: patch 4, 8, 16 or 32, three channels,
    /// <see cref="ViTConfig.StemSkipLastBlocks"/> within the last stage's blocks.</summary>
    public static IEnumerable<string> ConfigErrors(ViTConfig config)
    {
        int patch = config.PatchSize;
        if (patch is not (4 or 8 or 16 or 32)) yield return $"a ResNet18 stem needs PatchSize 4, 8, 16 or 32 (actual {patch})";
        if (config.Channels != 3) yield return $"a ResNet18 stem needs Channels 3 (actual {config.Channels})";
        else if (patch is 4 or 8 or 16 or 32 && (config.StemSkipLastBlocks < 0 || config.StemSkipLastBlocks >= BlocksPerStage[Stages(config) - 1]))
            yield return $"StemSkipLastBlocks must be in [0, {BlocksPerStage[Stages(config) - 1] - 1}] for patch {patch} (actual {config.StemSkipLastBlocks})";
    }

    /// <summary>Number of ResNet stages for the configuration's patch size (4 → 1, 8 → 2, 16 → 3, 32 → 4).</summary>
    public static int Stages(ViTConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.PatchSize switch { 4 => 1, 8 => 2, 16 => 3, 32 => 4, _ => throw new ArgumentException($"a ResNet18 stem needs PatchSize 4, 8, 16 or 32 (actual {config.PatchSize})") };
    }

    /// <summary>
    /// Basic blocks in each of the four stages of ML.NET's ResNet18 (<c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c>, a
    /// CNTK model): 2, 2, 2, 3 — its last stage has one block more than torchvision's resnet18.
    /// </summary>
    public static IReadOnlyList<int> BlocksPerStage { get; } = [2, 2, 2, 3];

    /// <summary>Basic blocks the stem runs in stage <paramref name="stage"/> (1-based): all, less <see cref="ViTConfig.StemSkipLastBlocks"/> in the last stage used.</summary>
    public static int Blocks(ViTConfig config, int stage) =>
        BlocksPerStage[stage - 1] - (stage == Stages(config) ? config.StemSkipLastBlocks : 0);

    /// <summary>Output channels of ResNet stage <paramref name="stage"/> (1-based): 64, 128, 256, 512.</summary>
    public static int StageWidth(int stage) => 64 << (stage - 1);

    /// <summary>Channels of the backbone's feature map (the input of the 1×1 projection).</summary>
    public static int FeatureChannels(ViTConfig config) => StageWidth(Stages(config));

    /// <summary>
    /// Every convolution of the backbone in the pretrained network's order (conv1; per block of each stage: downsample
    /// (first block of stages 2–4), conv1, conv2): parameter-name prefix, input and output channels, kernel side, stride.
    /// </summary>
    public static IReadOnlyList<(string Name, int InChannels, int OutChannels, int Kernel, int Stride)> Layout(ViTConfig config)
    {
        var list = new List<(string, int, int, int, int)> { ("stem.backbone.conv1", 3, 64, 7, 2) };
        for (int s = 1; s <= Stages(config); s++)
        {
            int width = StageWidth(s), inWidth = s == 1 ? 64 : StageWidth(s - 1);
            for (int b = 0; b < Blocks(config, s); b++)
            {
                string block = $"stem.backbone.layer{s}.{b}";
                bool down = b == 0 && s > 1;
                if (down) list.Add(($"{block}.downsample", inWidth, width, 1, 2));
                list.Add(($"{block}.conv1", b == 0 ? inWidth : width, width, 3, down ? 2 : 1));
                list.Add(($"{block}.conv2", width, width, 3, 1));
            }
        }
        return list;
    }

    /// <summary>The backbone's feature map [N, C, H/p, W/p] of normalized images [N, 3, H, W] (before the projection).</summary>
    public Tensor Features(Tensor images) => backboneRoot.call(images);

    /// <summary>
    /// The backbone's map of normalized images [N, 3, H, W] before its last <paramref name="lastBlocks"/> basic blocks
    /// (all of them when 0: <see cref="Features"/>); <see cref="LastBlocks"/> finishes it.
    /// </summary>
    public Tensor FeaturesBefore(Tensor images, int lastBlocks) => backboneRoot.Run(images, lastBlocks, before: true);

    /// <summary>Runs the backbone's last <paramref name="lastBlocks"/> basic blocks on a map from <see cref="FeaturesBefore"/>.</summary>
    public Tensor LastBlocks(Tensor maps, int lastBlocks) => backboneRoot.Run(maps, lastBlocks, before: false);

    /// <summary>
    /// Parameter-name prefixes (ending in '.') of the last <paramref name="lastBlocks"/> basic blocks of the stem for
    /// <paramref name="config"/>, all in its last stage: what <see cref="VisionTransformerOptions.StemTrainLastBlocks"/> trains.
    /// </summary>
    public static IReadOnlyList<string> LastBlockPrefixes(ViTConfig config, int lastBlocks)
    {
        int stage = Stages(config), blocks = Blocks(config, stage);
        if (lastBlocks < 0 || lastBlocks > blocks)
            throw new ArgumentException($"the stem's trained last blocks must be in [0, {blocks}] (the blocks of layer{stage}) (actual {lastBlocks})");
        return Enumerable.Range(blocks - lastBlocks, lastBlocks).Select(b => $"stem.backbone.layer{stage}.{b}.").ToArray();
    }

    /// <summary>Tokens [N, (H/p)(W/p), dim] of a feature map from <see cref="Features"/>.</summary>
    public Tensor Project(Tensor features) => proj.forward(features).flatten(2).transpose(1, 2);

    /// <inheritdoc />
    public override Tensor forward(Tensor images) => Project(Features(images));

    /// <summary>The parameters of the ResNet (everything but the projection): frozen with <see cref="VisionTransformerOptions.FreezeStem"/>.</summary>
    public static bool IsBackbone(string parameterName) => parameterName.StartsWith("stem.backbone.", StringComparison.Ordinal);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            backboneRoot.Dispose();
            proj.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>conv1 (padded 3 before, 2 after) → ReLU → 3×3 stride-2 max-pool (padded 1 before) → the stages' blocks.</summary>
    private sealed class BackboneModule : Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1;
        private readonly List<ModuleList<Module<Tensor, Tensor>>> layers = [];

        public BackboneModule(Conv2d conv1) : base("ResNet18Backbone")
        {
            this.conv1 = conv1;
            register_module("conv1", conv1);
        }

        public void AddLayer(string name, ModuleList<Module<Tensor, Tensor>> blocks)
        {
            layers.Add(blocks);
            register_module(name, blocks);
        }

        public override Tensor forward(Tensor x) => Run(x, 0, before: true);

        /// <summary>
        /// The network up to its last <paramref name="lastBlocks"/> basic blocks (<paramref name="before"/>: from the
        /// image), or those blocks alone (from the map the first part gives).
        /// </summary>
        public Tensor Run(Tensor x, int lastBlocks, bool before)
        {
            var all = layers.SelectMany(blocks => blocks).ToList();
            if (lastBlocks < 0 || lastBlocks > layers[^1].Count)
                throw new ArgumentException($"the stem's last blocks must be in [0, {layers[^1].Count}] (the blocks of its last stage) (actual {lastBlocks})");
            int split = all.Count - lastBlocks;
            if (!before)
            {
                foreach (var block in all.Skip(split)) x = block.call(x);
                return x;
            }
            x = functional.relu(conv1.forward(functional.pad(x, [3, 2, 3, 2])));
            // Zero padding equals the max-pool's -inf padding here: the input is a ReLU output (≥ 0).
            x = functional.max_pool2d(functional.pad(x, [1, 0, 1, 0]), 3, 2);
            foreach (var block in all.Take(split)) x = block.call(x);
            return x;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                conv1.Dispose();
                foreach (var blocks in layers) blocks.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>A ResNet basic block with folded BatchNorms: ReLU(conv2(ReLU(conv1(x))) + shortcut(x)).</summary>
    private sealed class BasicBlock : Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1;
        private readonly Conv2d conv2;
        private readonly Conv2d? downsample;
        private readonly int stride;

        public BasicBlock(int inChannels, int outChannels, int stride) : base(nameof(BasicBlock))
        {
            this.stride = stride;
            conv1 = Conv2d(inChannels, outChannels, 3, stride: stride, bias: true);
            conv2 = Conv2d(outChannels, outChannels, 3, padding: 1, bias: true);
            if (stride != 1 || inChannels != outChannels) downsample = Conv2d(inChannels, outChannels, 1, stride: stride, bias: true);
            register_module("conv1", conv1);
            register_module("conv2", conv2);
            if (downsample is not null) register_module("downsample", downsample);
        }

        public override Tensor forward(Tensor x)
        {
            // Stride 2: one pixel of padding before, none after (the pretrained network's padding); stride 1: one each side.
            var h = functional.relu(conv1.forward(functional.pad(x, stride == 2 ? [1, 0, 1, 0] : [1, 1, 1, 1])));
            h = conv2.forward(h);
            return functional.relu(h.add_(downsample is null ? x : downsample.forward(x)));
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                conv1.Dispose();
                conv2.Dispose();
                downsample?.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
