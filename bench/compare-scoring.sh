#!/usr/bin/env bash
# Runs `vit bench-scoring` (a seed-preset zip: PredictionEngine, Transform, ONNX Runtime direct, float and int8) and
# the PyTorch reference's inference (../shared/reference/seed_vit.py) back to back in one invocation, and prints the
# ratios and the floor under any scoring graph of the seed model. Each ratio is printed beside the figure recorded in
# docs/benchmarks.md for this machine's CPU class (its "Scoring speed" table: a row per ratio name, a column per class,
# "AVX-512 VNNI" or "AVX2" from /proc/cpuinfo); a ratio more than 20% below its recorded figure is flagged and the
# script exits 1. Run it on a quiet machine.
# Usage: bench/compare-scoring.sh [--rounds R] [--docs FILE]   (FILE relative to the repository root)
# The reference is ../shared/reference/seed_vit.py from the repository root unless VIT_REFERENCE names it.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=2
docs=docs/benchmarks.md
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --docs) docs=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
. bench/common.sh
declare -A v
keys="predictionEngineMilliseconds int8PredictionEngineMilliseconds transformImagesPerSecond int8TransformImagesPerSecond
onnxRuntimeBatch64ImagesPerSecond onnxRuntimeInt8Batch64ImagesPerSecond onnxRuntimeBatch1Milliseconds onnxRuntimeInt8Batch1Milliseconds
torchSharpBatch64ImagesPerSecond preprocessingMicroseconds floorMilliseconds int8FloorMilliseconds poolOneThreadImagesPerSecond poolImagesPerSecond poolOneEngineEveryCoreImagesPerSecond int8PoolImagesPerSecond
transformFirstPassImagesPerSecond int8TransformFirstPassImagesPerSecond transformOneThreadSessionsImagesPerSecond
int8TransformOneThreadSessionsImagesPerSecond predictionEngineEveryCoreMilliseconds int8PredictionEngineEveryCoreMilliseconds"
pi=(); pl=()
for r in $(seq "$rounds"); do
  j=$("$vit" bench-scoring --json 2>/dev/null | tail -1)
  echo "vit bench-scoring: $j"
  for k in $keys; do v[$k]+="$(jq -r ".$k" <<<"$j") "; done
  gflop=$(jq -r .forwardGflopPerImage <<<"$j")
  p=$("$python" "$reference" --steps 5 | tail -1)
  echo "pytorch:   $p"
  pi+=("$(awk '{print $4}' <<<"$p")"); pl+=("$(awk '{print $6}' <<<"$p")")
done
pick() { tr ' ' '\n' <<<"${v[$1]}" | grep -v '^$' | $2; }
PI=$(printf '%s\n' "${pi[@]}" | best); PL=$(printf '%s\n' "${pl[@]}" | least)
echo
echo "best of $rounds rounds, seed preset zip (3x32x32); PyTorch reference inference: batch 64 $PI img/s, batch 1 $PL ms"
printf '%-42s %10s %10s\n' path float int8
row_ms() { printf '%-42s %7.3f ms %7.3f ms   (%.2fx / %.2fx the reference batch 1)\n' "$1" "$2" "$3" "$(echo "$PL / $2" | bc -l)" "$(echo "$PL / $3" | bc -l)"; }
row_ips() { printf '%-42s %6.1f /s %6.1f /s   (%.2fx / %.2fx the reference batch 64)\n' "$1" "$2" "$3" "$(echo "$2 / $PI" | bc -l)" "$(echo "$3 / $PI" | bc -l)"; }
row_ms "zip PredictionEngine (MLImage -> label)" "$(pick predictionEngineMilliseconds least)" "$(pick int8PredictionEngineMilliseconds least)"
row_ips "zip Transform (row by row, steady state)" "$(pick transformImagesPerSecond best)" "$(pick int8TransformImagesPerSecond best)"
row_ips "zip Transform, one ORT thread per session" "$(pick transformOneThreadSessionsImagesPerSecond best)" "$(pick int8TransformOneThreadSessionsImagesPerSecond best)"
row_ms "zip PredictionEngine, every core's ORT threads" "$(pick predictionEngineEveryCoreMilliseconds least)" "$(pick int8PredictionEngineEveryCoreMilliseconds least)"
row_ips "zip Transform, first pass (JIT included)" "$(pick transformFirstPassImagesPerSecond best)" "$(pick int8TransformFirstPassImagesPerSecond best)"
row_ms "ONNX Runtime direct, batch 1" "$(pick onnxRuntimeBatch1Milliseconds least)" "$(pick onnxRuntimeInt8Batch1Milliseconds least)"
row_ips "ONNX Runtime direct, batch 64" "$(pick onnxRuntimeBatch64ImagesPerSecond best)" "$(pick onnxRuntimeInt8Batch64ImagesPerSecond best)"
printf '%-42s %6.1f /s %10s   (%.2fx the reference batch 64)\n' "TorchSharp eager, batch 64" "$(pick torchSharpBatch64ImagesPerSecond best)" "" "$(echo "$(pick torchSharpBatch64ImagesPerSecond best) / $PI" | bc -l)"
printf '%-42s %6.1f /s %6.1f /s   (float zip: one caller on one thread / every core, default pool)\n' "PredictionEnginePool" "$(pick poolOneThreadImagesPerSecond best)" "$(pick poolImagesPerSecond best)"
printf '%-42s %6.1f /s\n' "PredictionEnginePool, one engine, every core" "$(pick poolOneEngineEveryCoreImagesPerSecond best)"
row_ips "PredictionEnginePool, every core (default)" "$(pick poolImagesPerSecond best)" "$(pick int8PoolImagesPerSecond best)"
printf '%-42s %7.1f us\n' "zip image preprocessing alone" "$(pick preprocessingMicroseconds least)"
printf '%-42s %7.3f ms %7.3f ms   (%s GFLOP per image at ONNX Runtime'"'"'s best 2048^2 matmul rate of the rounds)\n' "floor under any graph of the model" "$(pick floorMilliseconds least)" "$(pick int8FloorMilliseconds least)" "$gflop"

# Each ratio beside the figure recorded in the docs' "Scoring speed" table for this CPU class (a row
# "| name | 1.23× | 0.98× |", the columns "AVX-512 VNNI" and "AVX2"); a ratio more than 20% below it is flagged.
if grep -qw avx512_vnni /proc/cpuinfo; then cpu_class="AVX-512 VNNI"; column=3; else cpu_class="AVX2"; column=4; fi
ratio() { echo "$1 / $2" | bc -l; }
declare -A now=(
  ["PredictionEngine float / reference batch 1"]=$(ratio "$PL" "$(pick predictionEngineMilliseconds least)")
  ["PredictionEngine int8 / reference batch 1"]=$(ratio "$PL" "$(pick int8PredictionEngineMilliseconds least)")
  ["Transform float / reference batch 64"]=$(ratio "$(pick transformImagesPerSecond best)" "$PI")
  ["Transform int8 / reference batch 64"]=$(ratio "$(pick int8TransformImagesPerSecond best)" "$PI")
  ["ONNX Runtime batch 64 float / reference batch 64"]=$(ratio "$(pick onnxRuntimeBatch64ImagesPerSecond best)" "$PI")
  ["ONNX Runtime batch 64 int8 / reference batch 64"]=$(ratio "$(pick onnxRuntimeInt8Batch64ImagesPerSecond best)" "$PI")
  ["Pool every core / one thread"]=$(ratio "$(pick poolImagesPerSecond best)" "$(pick poolOneThreadImagesPerSecond best)")
  ["Pool int8 every core / reference batch 64"]=$(ratio "$(pick int8PoolImagesPerSecond best)" "$PI")
  ["Transform float, one ORT thread per session / reference batch 64"]=$(ratio "$(pick transformOneThreadSessionsImagesPerSecond best)" "$PI")
  ["Transform int8, one ORT thread per session / reference batch 64"]=$(ratio "$(pick int8TransformOneThreadSessionsImagesPerSecond best)" "$PI")
  ["PredictionEngine int8, every core's ORT threads / reference batch 1"]=$(ratio "$PL" "$(pick int8PredictionEngineEveryCoreMilliseconds least)")
)
echo
printf '%-66s %8s %9s   (recorded: the %s column)\n' ratio now recorded "$cpu_class"
fell=0
for name in "PredictionEngine float / reference batch 1" "PredictionEngine int8 / reference batch 1" \
  "Transform float / reference batch 64" "Transform int8 / reference batch 64" \
  "ONNX Runtime batch 64 float / reference batch 64" "ONNX Runtime batch 64 int8 / reference batch 64" \
  "Pool every core / one thread" "Pool int8 every core / reference batch 64" \
  "Transform float, one ORT thread per session / reference batch 64" "Transform int8, one ORT thread per session / reference batch 64" \
  "PredictionEngine int8, every core's ORT threads / reference batch 1"; do
  recorded=$(grep -F "| $name |" "$docs" | head -1 | awk -F'|' -v c="$column" '{ print $c }' | grep -oE '[0-9]+(\.[0-9]+)?×' | head -1 | tr -d '×' || true)
  flag=""
  if [ -z "$recorded" ]; then
    recorded="-"; flag="(no recorded figure in $docs)"
  elif [ "$(echo "${now[$name]} < 0.8 * $recorded" | bc -l)" = 1 ]; then
    flag="FELL by $(printf '%.0f' "$(echo "100 - 100 * ${now[$name]} / $recorded" | bc -l)")%"; fell=1
  fi
  shown="${recorded}x"; [ "$recorded" = "-" ] && shown="-"
  printf '%-66s %7.2fx %9s  %s\n' "$name" "${now[$name]}" "$shown" "$flag"
done
if [ "$fell" = 1 ]; then echo "a ratio fell by more than 20% against $docs" >&2; exit 1; fi
