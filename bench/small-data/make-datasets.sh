#!/usr/bin/env bash
# Builds the small real-photo datasets of bench/small-data from public GitHub repositories (git snapshots).
#   bench/small-data/make-datasets.sh OUT_DIR MIRROR_FLOWERS MIRROR_HYMENOPTERA
# MIRROR_* are git directories (bare or not) of
#   flowers:     github.com/atiaisaac/flowers_classification   (flowers/{daisy,dandelion,roses,sunflowers,tulips}/*.jpg,
#                TensorFlow flower_photos (Flickr, CC-BY), 600 a class, every size and aspect)
#   hymenoptera: github.com/zhangtao7750/syn                     (hymenoptera_data/{train,val}/{ants,bees}/*.jpg,
#                the PyTorch transfer-learning tutorial's ants/bees photos)
# Selection is deterministic: the files of a class are ordered by their git blob id (the SHA-1 of the content) and
# taken in that order.
# Writes OUT_DIR/{flowers,ants-bees}/{train,val,test}/CLASS/*.jpg:
#   flowers:   per class 30 train, 10 val, 20 test (5 classes: 150 / 50 / 100 images)
#   ants-bees: per class 40 train, 10 val (from hymenoptera train/), 50 test (from hymenoptera val/) (80 / 20 / 100)
# and OUT_DIR/{flowers,ants-bees}/selection/CLASS/*.jpg, a larger validation split for choosing between recipes (val/
# is too small to separate them: one photo is 2 or 5 points): flowers 40 a class (photos 61-100), ants-bees 60 a class
# (hymenoptera train/ photos 51-110); disjoint from train, val and test.
set -euo pipefail
out=${1:?OUT_DIR}; flowers=${2:?MIRROR_FLOWERS}; hym=${3:?MIRROR_HYMENOPTERA}

. "$(dirname "$0")/photo-repos.sh"
flowers=$(gd "$flowers"); hym=$(gd "$hym")

rm -rf "$out/flowers" "$out/ants-bees"
for c in daisy dandelion roses sunflowers tulips; do
  take "$flowers" "flowers/$c" "$out/flowers/train/$c" 1 30
  take "$flowers" "flowers/$c" "$out/flowers/val/$c" 31 10
  take "$flowers" "flowers/$c" "$out/flowers/test/$c" 41 20
  take "$flowers" "flowers/$c" "$out/flowers/selection/$c" 61 40
done
for c in ants bees; do
  take "$hym" "hymenoptera_data/train/$c" "$out/ants-bees/train/$c" 1 40
  take "$hym" "hymenoptera_data/train/$c" "$out/ants-bees/val/$c" 41 10
  take "$hym" "hymenoptera_data/val/$c" "$out/ants-bees/test/$c" 1 50
  take "$hym" "hymenoptera_data/train/$c" "$out/ants-bees/selection/$c" 51 60
done
for d in flowers ants-bees; do
  for s in train val test selection; do printf '%s/%s: %s images\n' "$d" "$s" "$(find "$out/$d/$s" -type f | wc -l)"; done
done
