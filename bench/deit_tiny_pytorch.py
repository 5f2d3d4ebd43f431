# DeiT-Ti at 224 in PyTorch eager on CPU (random weights, timm layout): the PyTorch side of the pretrained latency figures
# in docs/benchmarks.md. `deit_tiny_pytorch.py FILE.safetensors` writes the model for `vit train --from` / `vit export-onnx`;
# without arguments it times batch 1 and 32 on 2 threads. Needs python3-torch (Debian) only.
import sys, time, torch
import os
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "VitMlNet.Tests", "Fixtures", "checkpoints"))
import make_fixtures as m
m.IMAGE, m.PATCH, m.DIM, m.DEPTH, m.HEADS, m.MLP, m.CLASSES = 224, 16, 192, 12, 3, 768, 1000
torch.manual_seed(0)
model = m.TimmViT(grid=14).eval()
if len(sys.argv) > 1:
    m.save_safetensors(model.state_dict(), sys.argv[1]); print("saved", sys.argv[1]); sys.exit()
torch.set_num_threads(2)
print("params", sum(p.numel() for p in model.parameters()))
for batch in (1, 32):
    x = torch.randn(batch, 3, 224, 224)
    with torch.no_grad():
        for _ in range(3): model(x)
        best = 1e9
        for _ in range(5):
            n = 20 if batch == 1 else 2
            t = time.perf_counter()
            for _ in range(n): model(x)
            best = min(best, (time.perf_counter() - t) / n)
    print(f"pytorch {torch.__version__} batch {batch}: {best*1000:.2f} ms/batch, {batch/best:.1f} img/s")
