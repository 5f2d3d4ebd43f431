#!/usr/bin/env bash
# Runs `vit bench` and the PyTorch reference (../shared/reference/seed_vit.py) back to back in one invocation
# and prints both sets of figures and the ratios. Run it on a quiet machine: libtorch at 2 threads collapses
# when another process holds a core. Usage: bench/compare.sh [--steps N] [--rounds R]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=20; rounds=2
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
. bench/common.sh
vt=(); vi=(); vl=(); pt=(); pi=(); pl=(); pk=(); dn=(); at=()
for r in $(seq "$rounds"); do
  j=$("$vit" bench --json --steps "$steps")
  echo "vit bench: $j"
  vt+=("$(jq -r .trainImagesPerSecond <<<"$j")"); vi+=("$(jq -r .inferImagesPerSecond <<<"$j")"); vl+=("$(jq -r .inferBatch1Milliseconds <<<"$j")")
  pk+=("$(jq -r .matmulGflops <<<"$j")"); dn+=("$(jq -r .denseGflops <<<"$j")"); at+=("$(jq -r .attentionGflops <<<"$j")"); share=$(jq -r .attentionFlopShare <<<"$j"); gflop=$(jq -r .trainGflopPerImage <<<"$j"); nominal=$(jq -r .trainGflopPerImageNominal <<<"$j")
  p=$("$python" "$reference" --steps "$steps" | tail -1)
  echo "pytorch:   $p"
  pt+=("$(awk '{print $2}' <<<"$p")"); pi+=("$(awk '{print $4}' <<<"$p")"); pl+=("$(awk '{print $6}' <<<"$p")")
done
VT=$(printf '%s\n' "${vt[@]}" | best); VI=$(printf '%s\n' "${vi[@]}" | best); VL=$(printf '%s\n' "${vl[@]}" | least)
PT=$(printf '%s\n' "${pt[@]}" | best); PI=$(printf '%s\n' "${pi[@]}" | best); PL=$(printf '%s\n' "${pl[@]}" | least)
echo
echo "best of $rounds rounds, seed preset, batch 64"
printf '%-24s %12s %12s %8s\n' metric VitMlNet PyTorch ratio
printf '%-24s %12.1f %12.1f %7.2fx\n' "train img/s" "$VT" "$PT" "$(echo "$VT / $PT" | bc -l)"
printf '%-24s %12.1f %12.1f %7.2fx\n' "infer b64 img/s" "$VI" "$PI" "$(echo "$VI / $PI" | bc -l)"
printf '%-24s %12.2f %12.2f %7.2fx\n' "infer b1 ms (lower=better)" "$VL" "$PL" "$(echo "$PL / $VL" | bc -l)"
# The best peak of the rounds, like the best training figure: a slow round must not inflate the percentage.
peak=$(printf '%s\n' "${pk[@]}" | best)
printf '%-24s %12.1f GFLOP/s; training reaches %.0f%% of it (%.3f GFLOP per image executed; the reference runs %.3f)\n' "matmul 2048^2 peak" "$peak" "$(echo "$VT * $gflop * 100 / $peak" | bc -l)" "$gflop" "$nominal"
# The ceiling libtorch's own kernels put on that percentage: the dense layers' and the attention products' best rates
# at the model's training shapes, weighted by their FLOP shares, against the best peak, with every element-wise
# operation counted as free.
D=$(printf '%s\n' "${dn[@]}" | best); A=$(printf '%s\n' "${at[@]}" | best)
printf '%-24s %12.0f%% of the peak at most, even with free element-wise work (dense layers %.1f, attention products %.1f GFLOP/s, %.1f%% of the FLOPs)\n' "utilization ceiling" "$(echo "100 / ((1 - $share) * $peak / $D + $share * $peak / $A)" | bc -l)" "$D" "$A" "$(echo "100 * $share" | bc -l)"
