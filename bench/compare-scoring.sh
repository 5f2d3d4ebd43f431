#!/usr/bin/env bash
# Runs `vit bench-scoring` (a seed-preset zip: PredictionEngine, Transform, ONNX Runtime direct, float and int8) and
# the PyTorch reference's inference (../shared/reference/seed_vit.py) back to back in one invocation, and prints the
# ratios and the floor under any scoring graph of the seed model. Run it on a quiet machine.
# Usage: bench/compare-scoring.sh [--rounds R]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=2
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
. bench/common.sh
declare -A v
keys="predictionEngineMilliseconds int8PredictionEngineMilliseconds transformImagesPerSecond int8TransformImagesPerSecond
onnxRuntimeBatch64ImagesPerSecond onnxRuntimeInt8Batch64ImagesPerSecond onnxRuntimeBatch1Milliseconds onnxRuntimeInt8Batch1Milliseconds
torchSharpBatch64ImagesPerSecond preprocessingMicroseconds floorMilliseconds int8FloorMilliseconds poolOneThreadImagesPerSecond poolImagesPerSecond poolOneThreadPerEngineImagesPerSecond int8PoolOneThreadPerEngineImagesPerSecond"
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
row_ips "zip Transform (row by row)" "$(pick transformImagesPerSecond best)" "$(pick int8TransformImagesPerSecond best)"
row_ms "ONNX Runtime direct, batch 1" "$(pick onnxRuntimeBatch1Milliseconds least)" "$(pick onnxRuntimeInt8Batch1Milliseconds least)"
row_ips "ONNX Runtime direct, batch 64" "$(pick onnxRuntimeBatch64ImagesPerSecond best)" "$(pick onnxRuntimeInt8Batch64ImagesPerSecond best)"
printf '%-42s %6.1f /s %10s   (%.2fx the reference batch 64)\n' "TorchSharp eager, batch 64" "$(pick torchSharpBatch64ImagesPerSecond best)" "" "$(echo "$(pick torchSharpBatch64ImagesPerSecond best) / $PI" | bc -l)"
printf '%-42s %6.1f /s %6.1f /s   (float zip, one thread / every core)\n' "PredictionEnginePool" "$(pick poolOneThreadImagesPerSecond best)" "$(pick poolImagesPerSecond best)"
row_ips "PredictionEnginePool, threadsPerEngine 1" "$(pick poolOneThreadPerEngineImagesPerSecond best)" "$(pick int8PoolOneThreadPerEngineImagesPerSecond best)"
printf '%-42s %7.1f us\n' "zip image preprocessing alone" "$(pick preprocessingMicroseconds least)"
printf '%-42s %7.3f ms %7.3f ms   (%s GFLOP per image at ONNX Runtime'"'"'s best 2048^2 matmul rate of the rounds)\n' "floor under any graph of the model" "$(pick floorMilliseconds least)" "$(pick int8FloorMilliseconds least)" "$gflop"
