using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VitMlNet.Modeling;

/// <summary>
/// A Vision Transformer (Dosovitskiy et al., "An Image is Worth 16x16 Words", arXiv 2010.11929), with the
/// optional distillation token of DeiT (Touvron et al., arXiv 2012.12877). Input: normalized images
/// [N, C, H, W]; output: class logits [N, classes].
/// </summary>
/// <remarks>
/// Parameter names follow the reference PyTorch model (<c>embed.*</c>, or <c>stem.*</c> with a <see cref="ConvStem"/>, <c>cls</c>, <c>pos</c>,
/// <c>layers.{i}.0.*</c>, <c>layers.{i}.1.*</c>, <c>head.*</c>; <c>patch_embed.*</c> with the standard convolutional patch embedding and <c>norm.*</c> with a final LayerNorm; plus <c>dist</c> and <c>head_dist</c>
/// with a distillation token), so its state dict maps one to one. Fine-tuning hooks:
/// <see cref="ForwardFeatures"/>, <see cref="ForwardHead"/>, <see cref="ResetClassifier"/> and
/// <see cref="NoWeightDecayParameterNames"/>.
/// </remarks>
internal sealed class VisionTransformer : Module<Tensor, Tensor>
{
    private readonly IStem stem;
    private readonly LayerNorm? norm;
    private readonly Parameter cls;
    private readonly Parameter pos;
    private readonly Parameter? dist;
    private readonly FastDropout drop;
    private readonly ModuleList<EncoderBlock> layers;
    private readonly Linear head;
    private readonly Linear? head_dist;

    /// <summary>Builds a freshly initialized model (PyTorch's default initializers; tokens from a normal with <see cref="ViTConfig.TokenInitStd"/>).</summary>
    /// <exception cref="ArgumentException">The configuration is invalid.</exception>
    public VisionTransformer(ViTConfig config) : base(nameof(VisionTransformer))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        stem = IStem.Create(config);
        cls = Parameter(randn(1, 1, config.Dim).mul_(config.TokenInitStd));
        pos = Parameter(randn(1, config.NumPatches + config.NumPrefixTokens, config.Dim).mul_(config.TokenInitStd));
        drop = new FastDropout(config.EmbeddingDropout);
        var blocks = new EncoderBlock[config.Depth];
        for (int i = 0; i < config.Depth; i++)
            blocks[i] = new EncoderBlock(config, config.Depth > 1 ? config.DropPathRate * i / (config.Depth - 1) : config.DropPathRate, config.HasConvFeedForward(i));
        layers = ModuleList(blocks);
        if (config.FinalNorm) norm = LayerNorm(config.Dim, config.LayerNormEpsilon);
        head = Linear(config.Dim, config.NumClasses);
        if (config.DistillationToken)
        {
            dist = Parameter(randn(1, 1, config.Dim).mul_(config.TokenInitStd));
            head_dist = Linear(config.Dim, config.NumClasses);
        }
        // Registered by hand, in the reference's order and names; the stem first, under its own name (the patch
        // embedding contributes its LayerNorm → Linear → LayerNorm stack directly as embed.0/1/2).
        register_module(stem.Registration.Name, stem.Registration.Module);
        register_parameter("cls", cls);
        if (dist is not null) register_parameter("dist", dist);
        register_parameter("pos", pos);
        register_module("drop", drop);
        register_module("layers", layers);
        if (norm is not null) register_module("norm", norm);
        register_module("head", head);
        if (head_dist is not null) register_module("head_dist", head_dist);
    }

    /// <summary>The architecture of this model.</summary>
    public ViTConfig Config { get; private set; }

    /// <summary>
    /// Names of parameters that should get no weight decay: position embedding, class and distillation
    /// tokens, every LayerNorm and every bias (timm's convention).
    /// </summary>
    public IReadOnlySet<string> NoWeightDecayParameterNames =>
        named_parameters()
            .Where(p => p.name is "cls" or "pos" or "dist" || p.parameter.dim() <= 1)
            .Select(p => p.name)
            .ToHashSet();

    /// <summary>
    /// The model's whole learned state by name: every parameter, then every floating-point buffer (the running mean and
    /// variance of a <see cref="ViTConfig.StemBatchNorm"/> stem). Weight snapshots, EMA and the ONNX export use this, so
    /// buffers travel with the weights.
    /// </summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedState() =>
        named_parameters().Select(p => (p.name, (Tensor)p.parameter))
            .Concat(named_buffers().Where(b => b.buffer.is_floating_point()).Select(b => (b.name, b.buffer)));

    /// <summary>Encodes images into the pooled embedding [N, dim] (with a distillation token: the class-token embedding).</summary>
    public Tensor ForwardFeatures(Tensor images) => Pool(Encode(images));

    /// <summary>Applies the classifier head to pooled embeddings.</summary>
    public Tensor ForwardHead(Tensor features) => head.forward(features);

    /// <summary>
    /// Logits of the class head and of the distillation head, for training with a teacher (DeiT).
    /// The second is null when the model has no distillation token.
    /// </summary>
    public (Tensor Logits, Tensor? DistillationLogits) ForwardWithDistillation(Tensor images) => Heads(Encode(images));

    /// <summary>The class head on the pooled tokens and the distillation head (if any) on the distillation token.</summary>
    private (Tensor Logits, Tensor? DistillationLogits) Heads(Tensor tokens) => (head.forward(Pool(tokens)), head_dist?.forward(tokens[.., 1]));

    /// <summary>
    /// The feature map of a <see cref="ViTStem.ResNet18"/> stem's ResNet for normalized images [N, 3, H, W]: the part of
    /// the model that <see cref="VisionTransformerOptions.FreezeStem"/> freezes, so the trainer can compute it once per
    /// view (<see cref="VisionTransformerOptions.StemFeatureViews"/>) and train the rest with <see cref="ForwardFromStemFeatures"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model has no ResNet18 stem.</exception>
    /// <param name="images">Normalized images [N, 3, H, W].</param>
    /// <param name="trainedLastBlocks">The ResNet's last basic blocks left out of the map (they train:
    /// <see cref="VisionTransformerOptions.StemTrainLastBlocks"/>); 0 for the whole ResNet.</param>
    internal Tensor StemFeatures(Tensor images, int trainedLastBlocks = 0)
    {
        CheckInput(images);
        return ResNet18Stem.FeaturesBefore(images, trainedLastBlocks);
    }

    /// <summary><see cref="ForwardWithDistillation"/> from the feature maps of <see cref="StemFeatures"/> (with the same
    /// <paramref name="trainedLastBlocks"/>, which run here).</summary>
    internal (Tensor Logits, Tensor? DistillationLogits) ForwardFromStemFeatures(Tensor features, int trainedLastBlocks = 0) =>
        Heads(EncodeTokens(ResNet18Stem.Project(trainedLastBlocks == 0 ? features : ResNet18Stem.LastBlocks(features, trainedLastBlocks))));

    private ResNetStem ResNet18Stem => stem as ResNetStem ?? throw new InvalidOperationException("The model has no ResNet18 stem.");

    /// <summary>Class logits; with a distillation token, the mean of both heads (DeiT inference).</summary>
    public override Tensor forward(Tensor images)
    {
        var (logits, distLogits) = ForwardWithDistillation(images);
        return distLogits is null ? logits : (logits + distLogits) / 2;
    }

    /// <summary>
    /// Attention rollout (Abnar and Zuidema, arXiv 2005.00928): per block, head-averaged attention mixed with the
    /// identity for the residual path (0.5·A + 0.5·I, rows renormalized), multiplied through the layers; returns
    /// how much the class token attends to each patch, [N, H/p, W/p], each map scaled to sum to 1. Eval semantics.
    /// </summary>
    public Tensor AttentionRollout(Tensor images)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        bool wasTraining = training;
        eval();
        try
        {
            var x = WithPrefix(Patches(images));
            long n = x.shape[1];
            var eye = torch.eye(n, device: x.device).unsqueeze(0);
            Tensor? rollout = null;
            foreach (var block in layers)
            {
                var a = block.AttentionWeights(x).mean(new long[] { 1 });
                a = a.mul(0.5).add(eye.mul(0.5));
                a = a.div(a.sum(-1, keepdim: true));
                rollout = rollout is null ? a : torch.matmul(a, rollout);
                x = block.forward(x);
            }
            var c = Config;
            var toPatches = rollout![.., 0, c.NumPrefixTokens..];
            toPatches = toPatches.div(toPatches.sum(-1, keepdim: true));
            return toPatches.reshape(-1, c.ImageHeight / c.PatchSize, c.ImageWidth / c.PatchSize).MoveToOuterDisposeScope();
        }
        finally
        {
            train(wasTraining);
        }
    }

    /// <summary>Replaces the classifier head(s) with freshly initialized ones for <paramref name="numClasses"/> classes.</summary>
    public void ResetClassifier(int numClasses)
    {
        if (numClasses < 2) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "At least two classes are needed.");
        Reinitialize(head, numClasses);
        if (head_dist is not null) Reinitialize(head_dist, numClasses);
        Config = Config with { NumClasses = numClasses };
    }

    private void Reinitialize(Linear layer, int numClasses)
    {
        var device = layer.weight!.device;
        using var fresh = Linear(Config.Dim, numClasses, device: device);
        using (torch.no_grad())
        {
            layer.weight = Parameter(fresh.weight!.detach().clone());
            layer.bias = Parameter(fresh.bias!.detach().clone());
        }
    }

    /// <summary>
    /// Encoder output: every token, or with class-token pooling only the prefix tokens (class, then distillation), since
    /// nothing reads the others: the last block then computes queries, attention rows and feed-forward for the prefix
    /// tokens alone (as the ONNX graph does), which is the same function at a fraction of that block's cost (except that
    /// in training mode a BatchNorm feed-forward in that block takes its batch statistics from the prefix tokens alone).
    /// </summary>
    private Tensor Encode(Tensor images) => EncodeTokens(Patches(images));

    /// <summary><see cref="Encode"/> from the patch tokens [N, patches, dim].</summary>
    private Tensor EncodeTokens(Tensor patches)
    {
        var x = WithPrefix(patches);
        int last = layers.Count - 1;
        for (int i = 0; i < last; i++) x = layers[i].forward(x);
        x = Config.LastBlockPrefixOnly ? layers[last].ForwardQueries(x, Config.NumPrefixTokens) : layers[last].forward(x);
        return norm is null ? x : norm.forward(x);
    }

    /// <summary>The patch tokens [N, patches, dim] of normalized images.</summary>
    private Tensor Patches(Tensor images)
    {
        CheckInput(images);
        return stem.forward(images);
    }

    private void CheckInput(Tensor images)
    {
        var c = Config;
        if (images.dim() != 4 || images.shape[1] != c.Channels || images.shape[2] != c.ImageHeight || images.shape[3] != c.ImageWidth)
        {
            throw new ArgumentException(
                $"Input shape [{string.Join(", ", images.shape)}] doesn't match the model: expected [N, {c.Channels}, {c.ImageHeight}, {c.ImageWidth}].",
                nameof(images));
        }
    }

    /// <summary>Class (and distillation) token before the patch tokens, plus the position embedding, after dropout.</summary>
    private Tensor WithPrefix(Tensor x)
    {
        long b = x.shape[0];
        var prefix = dist is null
            ? cls.expand(b, -1, -1)
            : torch.cat(new[] { cls.expand(b, -1, -1), dist.expand(b, -1, -1) }, 1);
        x = torch.cat(new[] { prefix, x }, 1) + pos;
        return drop.forward(x);
    }

    private Tensor Pool(Tensor tokens) => Config.Pooling == ViTPooling.Mean ? tokens.mean(new long[] { 1 }) : tokens[.., 0];

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            stem.Dispose();
            norm?.Dispose();
            cls.Dispose();
            pos.Dispose();
            dist?.Dispose();
            drop.Dispose();
            layers.Dispose();
            head.Dispose();
            head_dist?.Dispose();
        }
        base.Dispose(disposing);
    }
}
