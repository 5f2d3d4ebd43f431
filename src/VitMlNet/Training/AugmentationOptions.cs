namespace VitMlNet.Training;

/// <summary>
/// Batched training-time augmentation. All of it runs on whole batches of tensors, after pixels are scaled
/// to [0, 1] and before mean/std normalization. Everything is off by default (the reference trains without).
/// </summary>
public sealed record AugmentationOptions
{
    /// <summary>
    /// TrivialAugment (Müller and Hutter, arXiv 2103.10242): each image gets one operation drawn uniformly from
    /// identity, brightness, contrast, solarize, posterize, autocontrast, rotate (±30°), shear x/y (±0.3) and
    /// translate x/y (±30%), at a uniformly drawn strength; batched on tensors. The default is false.
    /// </summary>
    public bool TrivialAugment { get; init; }

    /// <summary>
    /// Random resized crop (torchvision's <c>RandomResizedCrop</c>, the crop of Inception, DeiT and timm): each image is
    /// replaced by a random part of it, this fraction of its area or more (up to all of it), of aspect ratio 3:4 to 4:3,
    /// stretched back to the input size (bilinear). Values in [0, 1); 0 (the default) is off. 0.35 suits small photo sets.
    /// </summary>
    public double RandomResizedCropScale { get; init; }

    /// <summary>Zero-pad each side by this many pixels, then crop back to the input size at a random offset. The default is 0 (off).</summary>
    public int RandomCropPadding { get; init; }

    /// <summary>Mirror half of the images left-right. Leave off where flips change the meaning (digits, text). The default is false.</summary>
    public bool HorizontalFlip { get; init; }

    /// <summary>Probability of erasing a random rectangle (2%–33% of the area) with noise, per image (Zhong et al. 2017). The default is 0.</summary>
    public double RandomErasingProbability { get; init; }

    /// <summary>Mixup Beta(α, α) parameter (Zhang et al. 2017); 0 disables. The default is 0.</summary>
    public double MixupAlpha { get; init; }

    /// <summary>CutMix Beta(α, α) parameter (Yun et al. 2019); 0 disables. The default is 0.</summary>
    public double CutMixAlpha { get; init; }

    /// <summary>Probability that a batch is mixed at all when Mixup or CutMix is enabled. The default is 1.</summary>
    public double MixProbability { get; init; } = 1.0;

    /// <summary>When both are enabled, probability of CutMix rather than Mixup for a mixed batch. The default is 0.5.</summary>
    public double CutMixSwitchProbability { get; init; } = 0.5;

    /// <summary>Whether any augmentation is enabled.</summary>
    public bool Any => TrivialAugment || RandomResizedCropScale > 0 || RandomCropPadding > 0 || HorizontalFlip || RandomErasingProbability > 0 || MixupAlpha > 0 || CutMixAlpha > 0;

    /// <summary>Lists every invalid field; empty when valid.</summary>
    public IReadOnlyList<string> GetErrors()
    {
        var e = new List<string>();
        if (RandomResizedCropScale is < 0 or >= 1) e.Add($"RandomResizedCropScale must be in [0, 1) (actual {RandomResizedCropScale})");
        if (RandomCropPadding < 0) e.Add($"RandomCropPadding must be non-negative (actual {RandomCropPadding})");
        if (RandomErasingProbability is < 0 or > 1) e.Add($"RandomErasingProbability must be in [0, 1] (actual {RandomErasingProbability})");
        if (MixupAlpha < 0) e.Add($"MixupAlpha must be non-negative (actual {MixupAlpha})");
        if (CutMixAlpha < 0) e.Add($"CutMixAlpha must be non-negative (actual {CutMixAlpha})");
        if (MixProbability is < 0 or > 1) e.Add($"MixProbability must be in [0, 1] (actual {MixProbability})");
        if (CutMixSwitchProbability is < 0 or > 1) e.Add($"CutMixSwitchProbability must be in [0, 1] (actual {CutMixSwitchProbability})");
        return e;
    }
}
