#!/usr/bin/env bash
# The small-photo protocol: K random training sets of N photos a class from each dataset's pool, each fitted by ML.NET's
# pretrained-ResNet18 + L-BFGS pipeline and by VitMlNet (default `vit-auto`: what `vit train --data photos/` picks), every
# saved zip scored by a plain consumer on a fixed selection set (for recipe choices) and a fixed test set (for figures);
# it prints mean ± standard deviation over the draws for both, with fit times (SmallDataBench/Protocol.cs).
#   bench/small-data/protocol.sh [--datasets flowers,ants-bees] [--n 10,30,100] [--draws 5] [--seed 1] [--variants vit-auto,...]
#   bench/small-data/protocol.sh --summary out/small-data-protocol/protocol.tsv
# The photo repositories: FLOWERS_REPO / HYMENOPTERA_REPO name local git snapshots; otherwise they are cloned from
# GitHub (github.com/atiaisaac/flowers_classification, github.com/zhangtao7750/syn) into out/small-data/repos.
# Pools, draws (photo lists), zips and the per-draw results (protocol.tsv, appended) stay under out/ (gitignored;
# PROTOCOL_OUT names another results folder, e.g. one per dataset for two runs side by side).
set -euo pipefail
cd "$(dirname "$0")/../.."
data=out/small-data; pools=$data/pools
dotnet build -c Release bench/small-data/SmallDataBench -v quiet -nologo | grep -E ': error ' || true
bench=bench/small-data/SmallDataBench/bin/Release/net10.0/SmallDataBench.dll
if [ "${1:-}" = "--summary" ]; then exec dotnet "$bench" "$@"; fi
if [ ! -d "$pools/flowers/test" ] || [ ! -d "$pools/ants-bees/test" ]; then
  flowers=${FLOWERS_REPO:-$data/repos/flowers}; hym=${HYMENOPTERA_REPO:-$data/repos/hymenoptera}
  [ -e "$flowers" ] || git clone --quiet --bare https://github.com/atiaisaac/flowers_classification "$flowers"
  [ -e "$hym" ] || git clone --quiet --bare https://github.com/zhangtao7750/syn "$hym"
  bench/small-data/make-pools.sh "$pools" "$flowers" "$hym"
fi
dotnet "$bench" --protocol "$pools" "${PROTOCOL_OUT:-out/small-data-protocol}" "$@" | grep --line-buffered -v '^epoch '
