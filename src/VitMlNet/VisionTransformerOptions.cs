using VitMlNet.Modeling;
using VitMlNet.Training;

namespace VitMlNet;

/// <summary>Optimizer used to train the transformer.</summary>
public enum VisionTransformerOptimizer
{
    /// <summary>Adam (the reference workload's optimizer); <see cref="VisionTransformerOptions.WeightDecay"/> is ignored.</summary>
    Adam,
    /// <summary>AdamW with decoupled weight decay; no decay on norms, biases, tokens and the position embedding.</summary>
    AdamW,
}

/// <summary>Learning-rate schedule over the whole run.</summary>
public enum VisionTransformerLearningRateSchedule
{
    /// <summary>The learning rate stays at <see cref="VisionTransformerOptions.LearningRate"/>, after an optional warmup.</summary>
    Constant,
    /// <summary>Linear warmup, then cosine decay to <see cref="VisionTransformerOptions.MinLearningRate"/>.</summary>
    WarmupCosine,
}

/// <summary>A pretrained teacher the trainer builds itself for DeiT distillation (<see cref="VisionTransformerOptions.Teacher"/>).</summary>
public enum VisionTransformerTeacher
{
    /// <summary>No built-in teacher (a <see cref="VisionTransformerOptions.TeacherColumnName"/> may still give one).</summary>
    None,
    /// <summary>
    /// ML.NET's pretrained ImageNet ResNet18 (the network of <c>DnnFeaturizeImage</c>, package
    /// Microsoft.ML.DnnImageFeaturizer.ResNet18) with a linear softmax head fitted on the training images' pooled
    /// 512-feature vectors: ML.NET's usual small-data pipeline, run inside the trainer on every augmented view.
    /// </summary>
    ResNet18,
}

/// <summary>What the distillation head learns from the teacher (DeiT, Touvron et al., arXiv 2012.12877, section 4).</summary>
public enum VisionTransformerDistillation
{
    /// <summary>The teacher's predicted class (DeiT's hard distillation, its best): cross-entropy on its argmax.</summary>
    Hard,
    /// <summary>
    /// The teacher's class probabilities at <see cref="VisionTransformerOptions.DistillationTemperature"/> τ: τ² times the
    /// cross-entropy between softmax(teacher/τ) and softmax(student/τ) (Hinton et al.'s soft targets).
    /// </summary>
    Soft,
}

/// <summary>
/// Options of the <c>VisionTransformerTrainer</c>: columns, architecture, optimization, augmentation,
/// validation, reproducibility and monitoring. Every property has a documented default; <see cref="Validate"/>
/// reports every invalid field in one exception.
/// </summary>
public sealed class VisionTransformerOptions
{
    /// <summary>Label column: a key type, as produced by <c>MapValueToKey</c>. The default is "Label".</summary>
    public string LabelColumnName { get; set; } = "Label";

    /// <summary>Feature column: the known-size float pixel vector from <c>ExtractPixels</c> (planar C×H×W). The default is "Pixels".</summary>
    public string FeatureColumnName { get; set; } = "Pixels";

    /// <summary>Output column with class probabilities. The default is "Score".</summary>
    public string ScoreColumnName { get; set; } = "Score";

    /// <summary>Output column with the predicted label, of the label's key type. The default is "PredictedLabel".</summary>
    public string PredictedLabelColumnName { get; set; } = "PredictedLabel";

    /// <summary>Optional output column with the pooled embedding (to feed other trainers); null adds none. The default is null.</summary>
    public string? EmbeddingColumnName { get; set; }

    /// <summary>
    /// Optional column of teacher predictions (a key column over the same classes, e.g. another model's
    /// PredictedLabel) for DeiT hard-label distillation; requires an architecture with a distillation token.
    /// The default is null.
    /// </summary>
    public string? TeacherColumnName { get; set; }

    /// <summary>
    /// A teacher the trainer builds itself for DeiT distillation: with <see cref="VisionTransformerTeacher.ResNet18"/>,
    /// ML.NET's pretrained ResNet18 plus a linear head fitted on the training images (L2-regularized softmax regression on
    /// their pooled features) labels every augmented view the student trains on, once per view when the views are cached
    /// (<see cref="StemFeatureViews"/>; a hybrid whose stem is the whole frozen ResNet18 shares its feature maps, so the
    /// teacher costs almost nothing), else every step. Images smaller than 224 on a side are enlarged to it for the
    /// teacher, grey ones repeated to RGB. Needs an architecture with a distillation token; the teacher is not saved with
    /// the model, so scoring never needs it; the ResNet18 package is found or downloaded as for <see cref="ResNet18Path"/>.
    /// The default is <see cref="VisionTransformerTeacher.None"/>.
    /// </summary>
    public VisionTransformerTeacher Teacher { get; set; }

    /// <summary>What the distillation head learns from <see cref="Teacher"/>. The default is <see cref="VisionTransformerDistillation.Hard"/>.</summary>
    public VisionTransformerDistillation Distillation { get; set; }

    /// <summary>Temperature τ of <see cref="VisionTransformerDistillation.Soft"/> distillation (DeiT's 3). The default is 3.</summary>
    public double DistillationTemperature { get; set; } = 3;

    /// <summary>
    /// Architecture preset name (see <see cref="ViTConfig.PresetNames"/>), used when <see cref="Architecture"/> is null; or
    /// <see cref="VisionTransformerRecipes.Auto"/>, the one recipe chosen when training starts because it follows the data:
    /// it then sets the architecture and the training options (<see cref="VisionTransformerRecipes.Resolve(string, int, int, int, int, int, VisionTransformerOptions?)"/>).
    /// Other recipes (architecture and training options) are applied up front: <see cref="VisionTransformerRecipes.Apply"/>. The default is "seed".
    /// </summary>
    public string Preset { get; set; } = "seed";

    /// <summary>Explicit architecture; overrides <see cref="Preset"/>. Its input size and class count are taken from the data. The default is null.</summary>
    public ViTConfig? Architecture { get; set; }

    /// <summary>Image height when the feature vector carries no dimensions. The default is null (taken from the column).</summary>
    public int? ImageHeight { get; set; }

    /// <summary>Image width when the feature vector carries no dimensions. The default is null (taken from the column).</summary>
    public int? ImageWidth { get; set; }

    /// <summary>Channels when the feature vector carries no dimensions. The default is null (taken from the column).</summary>
    public int? Channels { get; set; }

    /// <summary>Factor mapping feature values to [0, 1]: 1/255 for <c>ExtractPixels</c>' default output. The default is 1/255.</summary>
    public float PixelScale { get; set; } = 1f / 255f;

    /// <summary>Passes over the training data. The default is 10.</summary>
    public int Epochs { get; set; } = 10;

    /// <summary>
    /// Wall-clock limit on training (every epoch, its validation included), or null for none. With a budget,
    /// <see cref="Epochs"/> is an upper bound: training stops at the first step that starts after the budget is spent
    /// (the last epoch may be partial), and the cosine schedule of <see cref="VisionTransformerLearningRateSchedule.WarmupCosine"/>
    /// follows whichever ends first, the steps or the time (after warmup, its progress is the larger of the step
    /// fraction and the time fraction), so the learning rate reaches <see cref="MinLearningRate"/> when either runs
    /// out. A budgeted run depends on the machine's speed, so it is not reproducible step for step. The default is null.
    /// </summary>
    public TimeSpan? TimeBudget { get; set; }

    /// <summary>Images per optimization step. The default is 64.</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>Peak learning rate. The default is 3e-4.</summary>
    public double LearningRate { get; set; } = 3e-4;

    /// <summary>Final learning rate of the cosine schedule. The default is 1e-6.</summary>
    public double MinLearningRate { get; set; } = 1e-6;

    /// <summary>Optimizer. The default is <see cref="VisionTransformerOptimizer.Adam"/> (the reference).</summary>
    public VisionTransformerOptimizer Optimizer { get; set; } = VisionTransformerOptimizer.Adam;

    /// <summary>Decoupled weight decay for <see cref="VisionTransformerOptimizer.AdamW"/>. The default is 0.05.</summary>
    public double WeightDecay { get; set; } = 0.05;

    /// <summary>Learning-rate schedule. The default is <see cref="VisionTransformerLearningRateSchedule.Constant"/>.</summary>
    public VisionTransformerLearningRateSchedule Schedule { get; set; } = VisionTransformerLearningRateSchedule.Constant;

    /// <summary>Epochs of linear warmup (fractions allowed). The default is 0.</summary>
    public double WarmupEpochs { get; set; }

    /// <summary>Maximum global gradient norm; 0 disables clipping. The default is 0.</summary>
    public double GradientClipNorm { get; set; }

    /// <summary>Label smoothing in [0, 1). The default is 0.</summary>
    public double LabelSmoothing { get; set; }

    /// <summary>Batched data augmentation applied during training. The default is none.</summary>
    public AugmentationOptions Augmentation { get; set; } = new();

    /// <summary>Decay of an exponential moving average of the weights (e.g. 0.999); 0 disables it. With EMA the averaged weights are validated and returned. The default is 0.</summary>
    public double EmaDecay { get; set; }

    /// <summary>Fraction of the training data held out (stratified, seeded) for validation when <see cref="ValidationData"/> is null; 0 disables. The default is 0.</summary>
    public double ValidationFraction { get; set; }

    /// <summary>Validation data with the same schema as the training data; overrides <see cref="ValidationFraction"/>. The default is null.</summary>
    public Microsoft.ML.IDataView? ValidationData { get; set; }

    /// <summary>Stop after this many epochs without validation improvement; 0 disables. The default is 0.</summary>
    public int EarlyStoppingPatience { get; set; }

    /// <summary>With validation, return the weights of the best validation epoch rather than the last. The default is true.</summary>
    public bool KeepBestWeights { get; set; } = true;

    /// <summary>Seed of initialization, shuffling, augmentation and dropout; same seed and data give the same weights. The default is 42.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>TorchSharp device: "cpu", "cuda" or "cuda:N" (needs the TorchSharp-cuda-linux backend). The default is "cpu".</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>Intra-op threads for libtorch; null keeps libtorch's default (one per core). The default is null.</summary>
    public int? Threads { get; set; }

    /// <summary>Receives a report after every epoch and every <see cref="ProgressEverySteps"/> steps. The default is null.</summary>
    public IProgress<TrainingProgress>? Progress { get; set; }

    /// <summary>Steps between intra-epoch progress reports; 0 reports only at epoch ends. The default is 50.</summary>
    public int ProgressEverySteps { get; set; } = 50;

    /// <summary>Stops training between steps, keeping usable weights (the best or the current ones). The default is none.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>Folder where a checkpoint (weights, optimizer, schedule and RNG position) is written after each epoch; null disables. The default is null.</summary>
    public string? CheckpointDirectory { get; set; }

    /// <summary>Resume from the checkpoint in <see cref="CheckpointDirectory"/> when one exists. The default is false.</summary>
    public bool ResumeFromCheckpoint { get; set; }

    /// <summary>
    /// Path of an earlier model (a VitMlNet model zip or exported .onnx) or of a pretrained checkpoint (timm, Hugging
    /// Face or torchvision: <c>.safetensors</c>, <c>.pt</c>/<c>.pth</c>/<c>.bin</c>, or a Hugging Face model folder; see
    /// <see cref="Checkpoints.ViTCheckpoint"/>) whose weights initialize training (fine-tuning / continued training); a
    /// different class count resets the head. A checkpoint also brings its architecture, mean/std (its family's:
    /// ImageNet's for timm, DeiT and torchvision) and LayerNorm epsilon; its position embedding is resampled to the
    /// data's image size and a gray input sums its RGB patch filters. The default is null.
    /// </summary>
    public string? InitialModel { get; set; }

    /// <summary>
    /// Layer-wise learning-rate decay (BEiT, timm's <c>layer_decay</c>): block i of L trains at LearningRate ×
    /// LayerDecay^(L − i), the patch embedding, tokens and position embedding at LayerDecay^(L + 1), the final norm
    /// and head at the full rate. Values in (0, 1]; 1 (the default) turns it off. 0.65–0.75 suits fine-tuning
    /// a pretrained ViT.
    /// </summary>
    public double LayerDecay { get; set; } = 1.0;

    /// <summary>
    /// Trains the classifier head(s) only, with the rest of the network frozen (linear probing). The default is false.
    /// </summary>
    public bool FreezeBackbone { get; set; }

    /// <summary>
    /// Freezes the pretrained ResNet of a <see cref="ViTStem.ResNet18"/> (hybrid) architecture: only its 1×1 projection,
    /// the transformer and the head train. The default is false (the ResNet fine-tunes with the rest).
    /// </summary>
    public bool FreezeStem { get; set; }

    /// <summary>
    /// With <see cref="FreezeStem"/>: the frozen ResNet's feature maps are computed once, for this many views of each
    /// training image (the image itself, then random crops and flips from <see cref="Augmentation"/>), and every epoch
    /// trains the rest of the model on all of them, so an epoch sees Count × views samples at a fraction of the cost of
    /// running the ResNet each step (a 224×224 view's 7×7×512 map takes 100 KB). 0 (the default) runs the ResNet every step.
    /// </summary>
    public int StemFeatureViews { get; set; }

    /// <summary>
    /// With <see cref="FreezeStem"/>: the frozen ResNet's last this-many basic blocks train after all, at
    /// <see cref="StemLearningRateScale"/> × <see cref="LearningRate"/> (timm-style transfer: the last stage fine-tunes
    /// slowly, the earlier ones stay as pretrained). 3 is ML.NET's ResNet18's whole last stage (layer4 at patch 32);
    /// at most the blocks of the last stage the stem runs. The cached views (<see cref="StemFeatureViews"/>) then hold
    /// the maps before these blocks (a 288×288 view's 18×18×256 map, twice the size of the finished one's), and every
    /// step runs them forward and back, which costs far more than the cached head alone. The ResNet's BatchNorms are
    /// folded into its convolutions, so their statistics stay the pretrained ones. 0 (the default) trains none.
    /// </summary>
    public int StemTrainLastBlocks { get; set; }

    /// <summary>
    /// The learning-rate multiplier of the ResNet blocks that <see cref="StemTrainLastBlocks"/> trains, in (0, 1]. The
    /// default is 0.1.
    /// </summary>
    public double StemLearningRateScale { get; set; } = 0.1;

    /// <summary>
    /// The pretrained ResNet18 of a <see cref="ViTStem.ResNet18"/> architecture: the path of the <c>ResNet18.onnx</c> of
    /// the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0. Null (the default) finds it (the
    /// VITMLNET_RESNET18_ONNX variable, the NuGet packages folder, the app folder, VitMlNet's cache) or downloads the
    /// package once (about 60 MB) when training starts, and says so through <see cref="Log"/>. Scoring never needs it: the
    /// weights travel in the model.
    /// </summary>
    public string? ResNet18Path { get; set; }

    /// <summary>Where the trainer's one-off messages go (e.g. the pretrained ResNet18's download); null (the default) writes them to standard error.</summary>
    public Action<string>? Log { get; set; }

    /// <summary>
    /// Precision of the scoring graph in the fitted transformer and the saved zip. The default is
    /// <see cref="Onnx.ViTOnnxWeightPrecision.Float32"/>; <see cref="Onnx.ViTOnnxWeightPrecision.DynamicInt8"/> scores faster (more so with
    /// integer dot-product instructions: AVX-512 VNNI, AVX-VNNI, ARM dot product) at a small accuracy cost: measure
    /// it with <c>MulticlassClassification.Evaluate</c> on your data (docs/benchmarks.md has ours).
    /// </summary>
    public Onnx.ViTOnnxWeightPrecision ScoringPrecision { get; set; } = Onnx.ViTOnnxWeightPrecision.Float32;

    /// <summary>
    /// Test-time flip averaging in the scoring graph of the fitted transformer and the saved zip: each image is scored
    /// with its left-right mirror and the two logits are averaged (<see cref="Onnx.ViTOnnxExportOptions.FlipAverage"/>).
    /// Worth it when training used <see cref="AugmentationOptions.HorizontalFlip"/>; scoring costs twice as much. The
    /// default is false.
    /// </summary>
    public bool ScoringFlipAverage { get; set; }

    /// <summary>
    /// Test-time shift averaging in the scoring graph of the fitted transformer and the saved zip: each image is also
    /// scored moved by one pixel up, down, left and right, and the logits of the five views (ten with
    /// <see cref="ScoringFlipAverage"/>) are averaged (<see cref="Onnx.ViTOnnxExportOptions.ShiftAverage"/>). Worth it
    /// when training used <see cref="AugmentationOptions.RandomCropPadding"/>; scoring costs five times as much. The
    /// default is false.
    /// </summary>
    public bool ScoringShiftAverage { get; set; }

    /// <summary>The largest <see cref="StemFeatureViews"/> accepted.</summary>
    public const int MaxStemFeatureViews = 64;

    /// <summary>The architecture to train: <see cref="Architecture"/> or the named <see cref="Preset"/>.</summary>
    /// <exception cref="InvalidOperationException">The preset is <see cref="VisionTransformerRecipes.Auto"/>, which the trainer resolves from the data.</exception>
    public ViTConfig ResolveArchitecture() => Architecture
        ?? (IsAuto ? throw new InvalidOperationException("Preset 'auto' is chosen from the data when training starts (VisionTransformerRecipes.ForData).") : ViTConfig.FromPreset(Preset));

    /// <summary>Whether the data-aware recipe is asked for (<see cref="Preset"/> = "auto" and no <see cref="Architecture"/>).</summary>
    internal bool IsAuto => Architecture is null && string.Equals(Preset, VisionTransformerRecipes.Auto, StringComparison.OrdinalIgnoreCase);

    /// <summary>Lists every invalid field; empty when the options are valid.</summary>
    public IReadOnlyList<string> GetErrors()
    {
        var e = new List<string>();
        void Need(bool ok, string message) { if (!ok) e.Add(message); }
        Need(!string.IsNullOrWhiteSpace(LabelColumnName), "LabelColumnName must be set");
        Need(!string.IsNullOrWhiteSpace(FeatureColumnName), "FeatureColumnName must be set");
        Need(Enum.IsDefined(ScoringPrecision), $"ScoringPrecision is not a known precision (actual {(int)ScoringPrecision})");
        Need(!string.IsNullOrWhiteSpace(ScoreColumnName), "ScoreColumnName must be set");
        Need(!string.IsNullOrWhiteSpace(PredictedLabelColumnName), "PredictedLabelColumnName must be set");
        if (Architecture is null)
        {
            Need(IsAuto || ViTConfig.PresetNames.Contains(Preset, StringComparer.OrdinalIgnoreCase),
                $"Preset must be {VisionTransformerRecipes.Auto} or one of {string.Join(", ", ViTConfig.PresetNames)} (actual '{Preset}')");
        }
        else
        {
            // Input geometry and classes come from the data; check the rest of the architecture.
            foreach (var error in Architecture.GetErrors())
                if (!error.StartsWith("NumClasses", StringComparison.Ordinal)) e.Add("Architecture: " + error);
        }
        Need(ImageHeight is null or > 0, $"ImageHeight must be positive (actual {ImageHeight})");
        Need(ImageWidth is null or > 0, $"ImageWidth must be positive (actual {ImageWidth})");
        Need(Channels is null or 1 or 3, $"Channels must be 1 or 3 (actual {Channels})");
        Need(PixelScale > 0 && float.IsFinite(PixelScale), $"PixelScale must be positive (actual {PixelScale})");
        Need(Epochs > 0, $"Epochs must be positive (actual {Epochs})");
        Need(TimeBudget is null || TimeBudget > TimeSpan.Zero, $"TimeBudget must be positive (actual {TimeBudget})");
        Need(BatchSize > 0, $"BatchSize must be positive (actual {BatchSize})");
        Need(LearningRate > 0 && double.IsFinite(LearningRate), $"LearningRate must be positive (actual {LearningRate})");
        Need(MinLearningRate >= 0, $"MinLearningRate must be non-negative (actual {MinLearningRate})");
        Need(WeightDecay >= 0, $"WeightDecay must be non-negative (actual {WeightDecay})");
        Need(WarmupEpochs >= 0, $"WarmupEpochs must be non-negative (actual {WarmupEpochs})");
        Need(GradientClipNorm >= 0, $"GradientClipNorm must be non-negative (actual {GradientClipNorm})");
        Need(LabelSmoothing is >= 0 and < 1, $"LabelSmoothing must be in [0, 1) (actual {LabelSmoothing})");
        Need(EmaDecay is >= 0 and < 1, $"EmaDecay must be in [0, 1) (actual {EmaDecay})");
        Need(ValidationFraction is >= 0 and < 1, $"ValidationFraction must be in [0, 1) (actual {ValidationFraction})");
        Need(EarlyStoppingPatience >= 0, $"EarlyStoppingPatience must be non-negative (actual {EarlyStoppingPatience})");
        Need(ProgressEverySteps >= 0, $"ProgressEverySteps must be non-negative (actual {ProgressEverySteps})");
        Need(Threads is null or > 0, $"Threads must be positive (actual {Threads})");
        Need(!ResumeFromCheckpoint || CheckpointDirectory is not null, "ResumeFromCheckpoint needs CheckpointDirectory");
        Need(InitialModel is null || File.Exists(InitialModel) || Directory.Exists(InitialModel), $"InitialModel file not found: '{InitialModel}'");
        Need(StemFeatureViews is >= 0 and <= MaxStemFeatureViews, $"StemFeatureViews must be in [0, {MaxStemFeatureViews}] (actual {StemFeatureViews})");
        Need(StemFeatureViews == 0 || FreezeStem, "StemFeatureViews needs FreezeStem = true");
        Need(StemTrainLastBlocks >= 0, $"StemTrainLastBlocks must be non-negative (actual {StemTrainLastBlocks})");
        Need(StemTrainLastBlocks == 0 || FreezeStem, "StemTrainLastBlocks needs FreezeStem = true (without it the whole ResNet trains)");
        Need(StemLearningRateScale > 0 && StemLearningRateScale <= 1, $"StemLearningRateScale must be in (0, 1] (actual {StemLearningRateScale})");
        Need(ResNet18Path is null || File.Exists(ResNet18Path), $"ResNet18Path file not found: '{ResNet18Path}'");
        Need(LayerDecay > 0 && LayerDecay <= 1, $"LayerDecay must be in (0, 1] (actual {LayerDecay})");
        Need(Device is not null && (Device == "cpu" || Device.StartsWith("cuda", StringComparison.Ordinal)), $"Device must be 'cpu', 'cuda' or 'cuda:N' (actual '{Device}')");
        if (TeacherColumnName is not null)
            Need(ResolveArchitectureOrNull()?.DistillationToken == true, "TeacherColumnName needs an architecture with DistillationToken = true");
        Need(Enum.IsDefined(Teacher), $"Teacher is not a known teacher (actual {(int)Teacher})");
        Need(Enum.IsDefined(Distillation), $"Distillation is not a known kind (actual {(int)Distillation})");
        if (Teacher != VisionTransformerTeacher.None)
        {
            Need(ResolveArchitectureOrNull() is not { DistillationToken: false }, $"Teacher {Teacher} needs an architecture with DistillationToken = true");
            Need(TeacherColumnName is null, $"Teacher {Teacher} and TeacherColumnName '{TeacherColumnName}' are two teachers; set one");
        }
        Need(Distillation == VisionTransformerDistillation.Hard || Teacher != VisionTransformerTeacher.None,
            "Distillation Soft needs a Teacher (a TeacherColumnName gives hard labels only)");
        Need(DistillationTemperature > 0 && double.IsFinite(DistillationTemperature), $"DistillationTemperature must be positive (actual {DistillationTemperature})");
        if (Augmentation is null) e.Add("Augmentation must not be null");
        else e.AddRange(Augmentation.GetErrors().Select(x => "Augmentation." + x));
        return e;
    }

    /// <summary>Throws one <see cref="ArgumentException"/> listing every invalid field, if any.</summary>
    public void Validate()
    {
        var errors = GetErrors();
        if (errors.Count > 0)
            throw new ArgumentException($"Invalid {nameof(VisionTransformerOptions)}: {string.Join("; ", errors)}.");
    }

    /// <summary>A shallow copy (the architecture record and augmentation options are copied too).</summary>
    public VisionTransformerOptions Clone()
    {
        var copy = (VisionTransformerOptions)MemberwiseClone();
        copy.Augmentation = Augmentation with { };
        return copy;
    }

    private ViTConfig? ResolveArchitectureOrNull() => Architecture
        ?? (ViTConfig.PresetNames.Contains(Preset, StringComparer.OrdinalIgnoreCase) ? ViTConfig.FromPreset(Preset) : null);
}
