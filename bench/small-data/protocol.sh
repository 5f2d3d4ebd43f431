#!/usr/bin/env bash
# The small-photo protocol: K random training sets of N photos a class from each dataset's pool, each fitted by ML.NET's
# pretrained-ResNet18 + L-BFGS pipeline and by VitMlNet (default `vit-auto`: what `vit train --data photos/` picks), every
# saved zip scored by a plain consumer on a fixed selection set (for recipe choices) and a fixed test set (for figures);
# it prints mean ± standard deviation over the draws for both, with fit times (SmallDataBench/Protocol.cs).
#   bench/small-data/protocol.sh [--datasets flowers,ants-bees,scenes] [--n 10,30,100] [--draws 5] [--seed 1] [--variants vit-auto,...]
#   bench/small-data/protocol.sh --summary out/small-data-protocol/protocol.tsv
# --datasets: flowers and ants-bees unless given; scenes (Intel's scene photos, 6 classes) only when named.
# The photo repositories: FLOWERS_REPO / HYMENOPTERA_REPO / SCENES_REPO name local git snapshots; otherwise they are
# cloned from GitHub (github.com/atiaisaac/flowers_classification, github.com/zhangtao7750/syn,
# github.com/afroozsheikh/Intel-Image-Classifier) into out/small-data/repos. A named dataset's pools are built
# (make-pools.sh) when missing; the others are left as they are.
# Pools, draws (photo lists), zips and the per-draw results (protocol.tsv, appended) stay under out/ (gitignored;
# PROTOCOL_OUT names another results folder, e.g. one per dataset for two runs side by side).
set -euo pipefail
cd "$(dirname "$0")/../.."
data=out/small-data; pools=$data/pools
dotnet build -c Release bench/small-data/SmallDataBench -v quiet -nologo | grep -E ': error ' || true
bench=bench/small-data/SmallDataBench/bin/Release/net10.0/SmallDataBench.dll
if [ "${1:-}" = "--summary" ]; then exec dotnet "$bench" "$@"; fi
datasets=flowers,ants-bees
for ((i = 1; i < $#; i++)); do if [ "${!i}" = --datasets ]; then j=$((i + 1)); datasets=${!j}; fi; done
mirror() { # dataset env-value default-folder github-repo: the snapshot to build a missing pool from, or - (not needed)
  if [[ ",$datasets," != *",$1,"* ]] || [ -d "$pools/$1/test" ]; then echo -; return; fi
  local dir=${2:-$data/repos/$3}
  [ -e "$dir" ] || git clone --quiet --bare "https://github.com/$4" "$dir" >&2 || exit 1
  echo "$dir"
}
flowers=$(mirror flowers "${FLOWERS_REPO:-}" flowers atiaisaac/flowers_classification)
hym=$(mirror ants-bees "${HYMENOPTERA_REPO:-}" hymenoptera zhangtao7750/syn)
scenes=$(mirror scenes "${SCENES_REPO:-}" scenes afroozsheikh/Intel-Image-Classifier)
if [ "$flowers$hym$scenes" != --- ]; then bench/small-data/make-pools.sh "$pools" "$flowers" "$hym" "$scenes"; fi
dotnet "$bench" --protocol "$pools" "${PROTOCOL_OUT:-out/small-data-protocol}" "$@" | grep --line-buffered -v '^epoch '
