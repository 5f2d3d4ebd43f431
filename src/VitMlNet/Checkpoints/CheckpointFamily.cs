namespace VitMlNet.Checkpoints;

/// <summary>The naming scheme of a pretrained Vision Transformer checkpoint.</summary>
internal enum CheckpointFamily
{
    /// <summary>timm (PyTorch Image Models) and the DeiT releases: <c>blocks.0.attn.qkv.weight</c>, <c>patch_embed.proj.weight</c>, <c>head.weight</c>.</summary>
    Timm,
    /// <summary>Hugging Face transformers' ViT / DeiT: <c>vit.encoder.layer.0.attention.attention.query.weight</c> (separate q, k, v), <c>classifier.weight</c>.</summary>
    HuggingFace,
    /// <summary>torchvision's <c>VisionTransformer</c>: <c>encoder.layers.encoder_layer_0.self_attention.in_proj_weight</c>, <c>heads.head.weight</c>.</summary>
    TorchVision,
}
