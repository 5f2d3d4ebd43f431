#!/usr/bin/env bash
# One command for the small-photo comparison (VitMlNet against ML.NET's ResNet18 pipeline): builds the small real-photo datasets (make-datasets.sh), then runs
# SmallDataBench, which fits ML.NET's pretrained-ResNet18 + L-BFGS pipeline and VitMlNet's small-data recipes on the
# training photos, saves each as a zip and scores every zip as a plain consumer (Model.Load + PredictionEngine) on the
# val/ and test/ photos; it prints a table of accuracies and fit times.
#   bench/small-data/run.sh [SmallDataBench options: --datasets flowers,ants-bees --variants ... --views 8]
# The photo repositories: FLOWERS_REPO / HYMENOPTERA_REPO name local git snapshots; otherwise they are cloned from
# GitHub (github.com/atiaisaac/flowers_classification, github.com/zhangtao7750/syn) into out/small-data/repos.
set -euo pipefail
cd "$(dirname "$0")/../.."
data=out/small-data
if [ ! -d "$data/flowers/selection" ] || [ ! -d "$data/ants-bees/selection" ]; then
  flowers=${FLOWERS_REPO:-$data/repos/flowers}; hym=${HYMENOPTERA_REPO:-$data/repos/hymenoptera}
  [ -e "$flowers" ] || git clone --quiet --bare https://github.com/atiaisaac/flowers_classification "$flowers"
  [ -e "$hym" ] || git clone --quiet --bare https://github.com/zhangtao7750/syn "$hym"
  bench/small-data/make-datasets.sh "$data" "$flowers" "$hym"
fi
dotnet build -c Release bench/small-data/SmallDataBench -v quiet -nologo | grep -E 'error|Error' || true
dotnet bench/small-data/SmallDataBench/bin/Release/net10.0/SmallDataBench.dll "$data" out/small-data-bench "$@" | grep -v '^epoch '
