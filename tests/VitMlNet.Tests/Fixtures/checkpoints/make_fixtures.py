#!/usr/bin/env python3
"""Writes the small deterministic checkpoints VitMlNet's checkpoint tests load, and their reference logits.

Run once (Debian: apt-get install python3-torch python3-torchvision; tested with torch 1.13, torchvision 0.14):
    /usr/bin/python3 make_fixtures.py
Tests and CI never run it; they read the committed files. Weights are random (seeded), the architectures tiny
(image 32, patch 8, dim 32, depth 2, 2 heads, MLP 128, 10 classes), the naming schemes real:

- timm_vit.safetensors          timm's VisionTransformer keys (patch_embed.proj, blocks.0.attn.qkv, norm, head)
- timm_deit_distilled.pth       timm's distilled DeiT keys (dist_token, head_dist) in a {"model": state_dict}
                                dict, as facebookresearch/deit publishes its checkpoints (torch.save)
- hf_vit/pytorch_model.bin      Hugging Face transformers' ViTForImageClassification keys (vit.embeddings...,
  hf_vit/config.json            separate query/key/value, classifier) and its config.json (heads, epsilon)
- torchvision_vit.pth           torchvision.models.VisionTransformer itself (its real keys: conv_proj,
                                encoder.layers.encoder_layer_0.self_attention.in_proj_weight, heads.head)
- reference.json                logits of each model for two fixed images (pixels from a formula), and of the
                                timm model at 48x48 with its position embedding resampled as timm does
                                (bicubic, antialias, like timm.layers.resample_abs_pos_embed)

The timm and Hugging Face modules below are written to match the published key names and forward passes
(timm 0.9 vision_transformer.py; transformers 4.x modeling_vit.py) without needing those packages.
"""
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGE, PATCH, DIM, DEPTH, HEADS, MLP, CLASSES = 32, 8, 32, 2, 2, 128, 10
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def pixels(batch, size):
    """Integer pixels 0..255, [batch, 3, size, size], from an LCG over the flat index (the C# tests use the same formula)."""
    n = batch * 3 * size * size
    values = [(((i * 1103515245 + 12345) % 2147483648) >> 16) % 256 for i in range(n)]
    return torch.tensor(values, dtype=torch.float32).reshape(batch, 3, size, size)


def normalize(p):
    mean = torch.tensor(MEAN, dtype=torch.float32).reshape(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=torch.float32).reshape(1, 3, 1, 1)
    return (p / 255.0 - mean) / std


def randomize(module, seed):
    """Every parameter random (LayerNorm scales around 1, biases around 0), so a swapped tensor shows in the logits."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() == 1 and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else p.numel()
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(max(fan_in, 1)) if p.shape[0] > 1 or p.dim() > 3 else 0.5 * torch.randn(p.shape, generator=g))


# ---- timm layout ---------------------------------------------------------------------------------------------------
class TimmPatchEmbed(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Conv2d(3, DIM, PATCH, PATCH)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class TimmAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(DIM, DIM * 3, bias=True)
        self.proj = nn.Linear(DIM, DIM)
        self.scale = (DIM // HEADS) ** -0.5

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, HEADS, c // HEADS).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        x = attn.softmax(dim=-1) @ v
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class TimmMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(DIM, MLP)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(MLP, DIM)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class TimmBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1 = nn.LayerNorm(DIM, eps=1e-6)
        self.attn = TimmAttention()
        self.norm2 = nn.LayerNorm(DIM, eps=1e-6)
        self.mlp = TimmMlp()

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TimmViT(nn.Module):
    def __init__(self, distilled=False, grid=IMAGE // PATCH):
        super().__init__()
        self.distilled = distilled
        prefix = 2 if distilled else 1
        self.cls_token = nn.Parameter(torch.zeros(1, 1, DIM))
        if distilled:
            self.dist_token = nn.Parameter(torch.zeros(1, 1, DIM))
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid + prefix, DIM))
        self.patch_embed = TimmPatchEmbed()
        self.blocks = nn.Sequential(*[TimmBlock() for _ in range(DEPTH)])
        self.norm = nn.LayerNorm(DIM, eps=1e-6)
        self.head = nn.Linear(DIM, CLASSES)
        if distilled:
            self.head_dist = nn.Linear(DIM, CLASSES)

    def forward(self, x):
        x = self.patch_embed(x)
        tokens = [self.cls_token.expand(x.shape[0], -1, -1)]
        if self.distilled:
            tokens.append(self.dist_token.expand(x.shape[0], -1, -1))
        x = torch.cat(tokens + [x], dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        if self.distilled:
            return (self.head(x[:, 0]) + self.head_dist(x[:, 1])) / 2
        return self.head(x[:, 0])


def resample_abs_pos_embed(posemb, new_size, num_prefix_tokens):
    """timm.layers.resample_abs_pos_embed: bicubic, antialias=True, align_corners=False, prefix tokens kept."""
    prefix, grid = posemb[:, :num_prefix_tokens], posemb[:, num_prefix_tokens:]
    old = int(math.sqrt(grid.shape[1]))
    grid = grid.reshape(1, old, old, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=new_size, mode="bicubic", antialias=True, align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, -1, posemb.shape[-1])
    return torch.cat([prefix, grid], dim=1)


# ---- Hugging Face transformers layout ------------------------------------------------------------------------------
class HfSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.query = nn.Linear(DIM, DIM)
        self.key = nn.Linear(DIM, DIM)
        self.value = nn.Linear(DIM, DIM)

    def forward(self, x):
        b, n, _ = x.shape
        split = lambda t: t.view(b, n, HEADS, DIM // HEADS).permute(0, 2, 1, 3)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(DIM // HEADS)
        out = scores.softmax(dim=-1) @ v
        return out.permute(0, 2, 1, 3).reshape(b, n, DIM)


class HfSelfOutput(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(DIM, DIM)


class HfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = HfSelfAttention()
        self.output = HfSelfOutput()

    def forward(self, x):
        return self.output.dense(self.attention(x))


class HfDense(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.dense = nn.Linear(i, o)


class HfLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = HfAttention()
        self.intermediate = HfDense(DIM, MLP)
        self.output = HfDense(MLP, DIM)
        self.layernorm_before = nn.LayerNorm(DIM, eps=1e-12)
        self.layernorm_after = nn.LayerNorm(DIM, eps=1e-12)

    def forward(self, x):
        x = x + self.attention(self.layernorm_before(x))
        return x + self.output.dense(F.gelu(self.intermediate.dense(self.layernorm_after(x))))


class HfPatchEmbeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.projection = nn.Conv2d(3, DIM, PATCH, PATCH)


class HfEmbeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, DIM))
        self.position_embeddings = nn.Parameter(torch.zeros(1, (IMAGE // PATCH) ** 2 + 1, DIM))
        self.patch_embeddings = HfPatchEmbeddings()

    def forward(self, x):
        x = self.patch_embeddings.projection(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        return x + self.position_embeddings


class HfEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.ModuleList([HfLayer() for _ in range(DEPTH)])


class HfViTModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embeddings = HfEmbeddings()
        self.encoder = HfEncoder()
        self.layernorm = nn.LayerNorm(DIM, eps=1e-12)

    def forward(self, x):
        x = self.embeddings(x)
        for layer in self.encoder.layer:
            x = layer(x)
        return self.layernorm(x)


class HfViTForImageClassification(nn.Module):
    def __init__(self):
        super().__init__()
        self.vit = HfViTModel()
        self.classifier = nn.Linear(DIM, CLASSES)

    def forward(self, x):
        return self.classifier(self.vit(x)[:, 0])


# ---- writing -------------------------------------------------------------------------------------------------------
def save_safetensors(state, path):
    """The safetensors format: 8-byte little-endian header length, JSON header (padded to 8 bytes), raw data."""
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name, t in state.items():
        data = t.detach().contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def logits(model, size=IMAGE):
    model.eval()
    with torch.no_grad():
        return model(normalize(pixels(2, size))).tolist()


def main():
    torch.manual_seed(0)
    reference = {"pixels": "p[i] = ((i * 1103515245 + 12345) mod 2^31 >> 16) mod 256 over [2, 3, H, W]",
                 "mean": MEAN, "std": STD, "classes": CLASSES, "heads": HEADS, "fixtures": {}}

    timm = TimmViT()
    randomize(timm, 1)
    save_safetensors(timm.state_dict(), os.path.join(HERE, "timm_vit.safetensors"))
    reference["fixtures"]["timm_vit.safetensors"] = {"family": "timm", "image": IMAGE, "logits": logits(timm)}

    # The same weights at 48x48: the position embedding resampled from the 4x4 grid to 6x6.
    timm48 = TimmViT(grid=48 // PATCH)
    state = dict(timm.state_dict())
    state["pos_embed"] = resample_abs_pos_embed(state["pos_embed"], (48 // PATCH, 48 // PATCH), 1)
    timm48.load_state_dict(state)
    reference["fixtures"]["timm_vit.safetensors@48"] = {"family": "timm", "image": 48, "logits": logits(timm48, 48)}

    deit = TimmViT(distilled=True)
    randomize(deit, 2)
    torch.save({"model": deit.state_dict()}, os.path.join(HERE, "timm_deit_distilled.pth"))
    reference["fixtures"]["timm_deit_distilled.pth"] = {"family": "timm", "image": IMAGE, "logits": logits(deit)}

    hf = HfViTForImageClassification()
    randomize(hf, 3)
    os.makedirs(os.path.join(HERE, "hf_vit"), exist_ok=True)
    torch.save(hf.state_dict(), os.path.join(HERE, "hf_vit", "pytorch_model.bin"))
    with open(os.path.join(HERE, "hf_vit", "config.json"), "w") as f:
        json.dump({"architectures": ["ViTForImageClassification"], "model_type": "vit", "hidden_size": DIM,
                   "num_hidden_layers": DEPTH, "num_attention_heads": HEADS, "intermediate_size": MLP,
                   "hidden_act": "gelu", "layer_norm_eps": 1e-12, "image_size": IMAGE, "patch_size": PATCH,
                   "num_channels": 3, "qkv_bias": True,
                   "id2label": {str(i): f"class{i}" for i in range(CLASSES)}}, f, indent=2)
    reference["fixtures"]["hf_vit/pytorch_model.bin"] = {"family": "huggingface", "image": IMAGE, "logits": logits(hf)}

    tv = torchvision.models.VisionTransformer(image_size=IMAGE, patch_size=PATCH, num_layers=DEPTH, num_heads=HEADS,
                                              hidden_dim=DIM, mlp_dim=MLP, num_classes=CLASSES)
    randomize(tv, 4)
    torch.save(tv.state_dict(), os.path.join(HERE, "torchvision_vit.pth"))
    reference["fixtures"]["torchvision_vit.pth"] = {"family": "torchvision", "image": IMAGE, "logits": logits(tv)}

    with open(os.path.join(HERE, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
    for name in sorted(os.listdir(HERE)):
        print(name)


if __name__ == "__main__":
    main()
