#!/usr/bin/env bash
# Photo scoring speed: the zip `vit train --data photos/` makes with the default recipe (auto: the hybrid ViT on ML.NET's
# frozen pretrained ResNet18 at 288x288), float and --int8, against ML.NET's own pretrained-ResNet18 pipeline
# (ResizeImages 224 -> ExtractPixels -> DnnFeaturizeImage ResNet18 -> LbfgsMaximumEntropy) fitted on the same photos,
# all measured in one run (SmallDataBench --scoring, bench/small-data/SmallDataBench/Scoring.cs): PredictionEngine
# latency per photo (median of --calls calls) and batch throughput (Transform over --images photos), with the ratios
# against the peer. The zips are measured in turn, round after round; each figure is its best round.
# Usage: bench/compare-photo-scoring.sh [--per-class 10] [--epochs 1] [--images 300] [--calls 200] [--rounds 2]
# Training photos: the first --per-class photos a class (ordinal file order) of the flowers pool of bench/small-data
# (make-pools.sh; built here like protocol.sh does when missing); scoring photos: that pool's selection set (300).
# --epochs shortens the recipe's training (the weights do not change the speed; the accuracy column is a check only).
set -euo pipefail
cd "$(dirname "$0")/.."
# libtorch's OpenMP threads sleep instead of spinning while they wait: on a shared machine spinning threads fight the
# other processes for the cores (the training here is a setup step; only scoring is timed).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
per_class=10; epochs=1; images=300; calls=200; rounds=2
while [ $# -gt 0 ]; do
  case "$1" in
    --per-class) per_class=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --images) images=$2; shift 2 ;;
    --calls) calls=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
data=out/small-data; pools=$data/pools
if [ ! -d "$pools/flowers/test" ] || [ ! -d "$pools/ants-bees/test" ]; then
  flowers=${FLOWERS_REPO:-$data/repos/flowers}; hym=${HYMENOPTERA_REPO:-$data/repos/hymenoptera}
  [ -e "$flowers" ] || git clone --quiet --bare https://github.com/atiaisaac/flowers_classification "$flowers"
  [ -e "$hym" ] || git clone --quiet --bare https://github.com/zhangtao7750/syn "$hym"
  bench/small-data/make-pools.sh "$pools" "$flowers" "$hym"
fi
dotnet build -c Release src/VitMlNet.Cli -v q -nologo >/dev/null
dotnet build -c Release bench/small-data/SmallDataBench -v q -nologo >/dev/null
vit=src/VitMlNet.Cli/bin/Release/net10.0/vit
bench=bench/small-data/SmallDataBench/bin/Release/net10.0/SmallDataBench.dll

work=out/photo-scoring
rm -rf "$work"; mkdir -p "$work/train"
for d in "$pools"/flowers/pool/*/; do
  c=$(basename "$d"); mkdir -p "$work/train/$c"
  find "$d" -maxdepth 1 -type f | LC_ALL=C sort | head -n "$per_class" | while read -r f; do cp "$f" "$work/train/$c/"; done
done
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), $(nproc) cores; avx512f: $(grep -qw avx512f /proc/cpuinfo && echo yes || echo no), avx512_vnni: $(grep -qw avx512_vnni /proc/cpuinfo && echo yes || echo no)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# The same training (seed 1) twice: the float zip and the --int8 zip (int8 encoder weights and int8 ResNet18 convolutions).
"$vit" train --data "$work/train" --epochs "$epochs" --seed 1 --output "$work/vit.zip" 2>&1 | { grep -E 'recipe auto|accuracy' || true; } | head -3
"$vit" train --data "$work/train" --epochs "$epochs" --seed 1 --int8 --output "$work/vit-int8.zip" 2>&1 | { grep -E 'accuracy' || true; } | head -2
dotnet "$bench" --scoring "$work/train" "$pools/flowers/selection" --images "$images" --calls "$calls" --rounds "$rounds" \
  --peer-zip "$work/peer.zip" --zips "vitmlnet auto (hybrid-resnet18 288)=$work/vit.zip,vitmlnet auto --int8=$work/vit-int8.zip"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
