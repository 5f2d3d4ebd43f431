#!/usr/bin/env bash
# Builds the photo pools of bench/small-data's protocol (protocol.sh) from public GitHub repositories (git snapshots).
#   bench/small-data/make-pools.sh OUT_DIR MIRROR_FLOWERS MIRROR_HYMENOPTERA
# MIRROR_* are git directories (bare or not) of
#   flowers:     github.com/atiaisaac/flowers_classification  (flowers/{daisy,dandelion,roses,sunflowers,tulips}/*.jpg,
#                TensorFlow flower_photos (Flickr, CC-BY), 600 a class)
#   hymenoptera: github.com/zhangtao7750/syn                    (hymenoptera_data/{train,val}/{ants,bees}/*.jpg, the
#                PyTorch transfer-learning tutorial's ants/bees photos: train/ 124 + 121, val/ 70 + 83)
# Writes OUT_DIR/{flowers,ants-bees}/{pool,selection,test}/CLASS/*.jpg, three disjoint sets:
#   pool       what the training sets are drawn from (SmallDataBench --protocol draws N a class, K times, from a seed)
#   selection  for every recipe choice (means over the draws), never test
#   test       for the reported figures only
# Split by the order of the files' git blob ids (SHA-1 of the content: fixed, unrelated to the class or the photo):
#   flowers:   per class photos 1-440 pool, 441-500 selection (60), 501-600 test (100). make-datasets.sh's fixed split
#              (and so every recipe choice before this protocol) used photos 1-100: they stay in the pool, never in test.
#   ants-bees: hymenoptera train/ photos 1-30 of a class selection, the rest (94 ants, 91 bees) pool; val/ (70 ants,
#              83 bees) test, the tutorial's own test split.
set -euo pipefail
out=${1:?OUT_DIR}; flowers=${2:?MIRROR_FLOWERS}; hym=${3:?MIRROR_HYMENOPTERA}

. "$(dirname "$0")/photo-repos.sh"
flowers=$(gd "$flowers"); hym=$(gd "$hym")

rm -rf "$out/flowers" "$out/ants-bees"
for c in daisy dandelion roses sunflowers tulips; do
  take "$flowers" "flowers/$c" "$out/flowers/pool/$c" 1 440
  take "$flowers" "flowers/$c" "$out/flowers/selection/$c" 441 60
  take "$flowers" "flowers/$c" "$out/flowers/test/$c" 501 100
done
for c in ants bees; do
  take "$hym" "hymenoptera_data/train/$c" "$out/ants-bees/selection/$c" 1 30
  take "$hym" "hymenoptera_data/train/$c" "$out/ants-bees/pool/$c" 31 0
  take "$hym" "hymenoptera_data/val/$c" "$out/ants-bees/test/$c" 1 0
done
for d in flowers ants-bees; do
  for s in pool selection test; do printf '%s/%s: %s images\n' "$d" "$s" "$(find "$out/$d/$s" -type f | wc -l)"; done
done
