namespace VitMlNet.Checkpoints;

/// <summary>How <see cref="ViTCheckpoint.Load"/> reads a pretrained checkpoint. Every option defaults to what the checkpoint says.</summary>
public sealed class CheckpointImportOptions
{
    /// <summary>The naming scheme; null (the default) detects it from the tensor names.</summary>
    internal CheckpointFamily? Family { get; set; }

    /// <summary>
    /// Attention heads. Tensors do not record them: null (the default) takes Hugging Face's <c>config.json</c> beside the
    /// weights, VitMlNet's own safetensors metadata, or the standard rule (64-wide heads: 3 for ViT-Ti, 6 for S, 12 for B,
    /// 16 for L and H).
    /// </summary>
    public int? Heads { get; set; }

    /// <summary>Input height for the imported model; null (the default) keeps the checkpoint's. Another size resamples the position embedding (bicubic, as timm).</summary>
    public int? ImageHeight { get; set; }

    /// <summary>Input width for the imported model; null (the default) keeps the checkpoint's.</summary>
    public int? ImageWidth { get; set; }

    /// <summary>Class count; null (the default) keeps the checkpoint's head. Another count replaces the head(s) with freshly initialized ones.</summary>
    public int? NumClasses { get; set; }

    /// <summary>
    /// Per-channel mean the model expects; null (the default) takes the checkpoint folder's (Hugging Face's
    /// <c>preprocessor_config.json</c>, timm's <c>config.json</c> <c>pretrained_cfg</c>), else the family's: ImageNet's.
    /// </summary>
    public IReadOnlyList<float>? Mean { get; set; }

    /// <summary>Per-channel standard deviation; null (the default) takes the family's, like <see cref="Mean"/>.</summary>
    public IReadOnlyList<float>? Std { get; set; }

    /// <summary>Seed of the fresh head when <see cref="NumClasses"/> replaces it. The default is 1.</summary>
    public int Seed { get; set; } = 1;
}
