#!/usr/bin/env bash
# The main job, end to end on a fresh machine: installs Fashion-MNIST (Debian package) if missing, builds the
# `vit` tool, trains a ViT on the 60,000 training images, evaluates it on the 10,000 test images, saves
# model.zip, predicts a few test images and writes an HTML/PNG report. Usage: ./main-job.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-out/main-job}
preset=${VIT_PRESET:-fmnist-fast}
epochs=${VIT_EPOCHS:-}
mkdir -p "$out"

if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  echo "== installing dataset-fashion-mnist"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq dataset-fashion-mnist
fi

echo "== building vit"
dotnet build -c Release src/VitMlNet.Cli -nologo -v q
vit="dotnet src/VitMlNet.Cli/bin/Release/net10.0/vit.dll"
start=$(date +%s)

echo "== training preset $preset on Fashion-MNIST (60,000 images), testing on its 10,000 test images"
$vit train --data fashion-mnist --test fashion-mnist:test --preset "$preset" ${epochs:+--epochs "$epochs"} \
  --seed 1 --out "$out/model.zip" --report "$out/report"

echo "== evaluating $out/model.zip"
$vit evaluate "$out/model.zip" --data fashion-mnist:test

echo "== predicting a few test images"
$vit export-images --data fashion-mnist:test --count 6 --out "$out/samples"
$vit predict "$out/model.zip" "$out/samples" --top 2

echo "== done in $(( $(date +%s) - start )) s (after the build): model $out/model.zip, report $out/report/index.html"
