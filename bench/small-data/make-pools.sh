#!/usr/bin/env bash
# Builds the photo pools of bench/small-data's protocol (protocol.sh) from public GitHub repositories (git snapshots).
#   bench/small-data/make-pools.sh OUT_DIR MIRROR_FLOWERS MIRROR_HYMENOPTERA [MIRROR_SCENES]
# MIRROR_* are git directories (bare or not), or - to leave that dataset's pools as they are, of
#   flowers:     github.com/atiaisaac/flowers_classification  (flowers/{daisy,dandelion,roses,sunflowers,tulips}/*.jpg,
#                TensorFlow flower_photos (Flickr, CC-BY), 600 a class)
#   hymenoptera: github.com/zhangtao7750/syn                    (hymenoptera_data/{train,val}/{ants,bees}/*.jpg, the
#                PyTorch transfer-learning tutorial's ants/bees photos: train/ 124 + 121, val/ 70 + 83)
#   scenes:      github.com/afroozsheikh/Intel-Image-Classifier  ({train,test}/{buildings,forest,glacier,mountain,sea,
#                street}/*.jpg at commit 5b571f44 "dataset added", before the repository's own resizing: a subset of the
#                Intel Image Classification scenes (Intel's scene-classification challenge on Analytics Vidhya, also on
#                Kaggle as puneet6060/intel-image-classification; no licence stated), 150x150 JPEG photos,
#                train/ 1344-1556 a class, test/ 317-404 a class)
# Writes OUT_DIR/{flowers,ants-bees,scenes}/{pool,selection,test}/CLASS/*.jpg, three disjoint sets:
#   pool       what the training sets are drawn from (SmallDataBench --protocol draws N a class, K times, from a seed)
#   selection  for every recipe choice (means over the draws), never test
#   test       for the reported figures only
# Split by the order of the files' git blob ids (SHA-1 of the content: fixed, unrelated to the class or the photo):
#   flowers:   per class photos 1-440 pool, 441-500 selection (60), 501-600 test (100). make-datasets.sh's fixed split
#              (and so every recipe choice before this protocol) used photos 1-100: they stay in the pool, never in test.
#   ants-bees: hymenoptera train/ photos 1-30 of a class selection, the rest (94 ants, 91 bees) pool; val/ (70 ants,
#              83 bees) test, the tutorial's own test split.
#   scenes:    photos stored twice in the snapshot (9 contents: under two classes, or in both train/ and test/) are
#              left out first; then train/ photos 1-60 of a class selection (360), the rest (1283-1490 a class) pool;
#              test/ photos 1-100 of a class test (600; from the snapshot's own test split, 317-403 a class: the rest
#              stays unused, as every draw scores every test photo with both pipelines).
set -euo pipefail
out=${1:?OUT_DIR}; flowers=${2:?MIRROR_FLOWERS}; hym=${3:?MIRROR_HYMENOPTERA}; scenes=${4:--}

. "$(dirname "$0")/photo-repos.sh"
built=()
if [ "$flowers" != - ]; then
  flowers=$(gd "$flowers"); rm -rf "$out/flowers"; built+=(flowers)
  for c in daisy dandelion roses sunflowers tulips; do
    take "$flowers" "flowers/$c" "$out/flowers/pool/$c" 1 440
    take "$flowers" "flowers/$c" "$out/flowers/selection/$c" 441 60
    take "$flowers" "flowers/$c" "$out/flowers/test/$c" 501 100
  done
fi
if [ "$hym" != - ]; then
  hym=$(gd "$hym"); rm -rf "$out/ants-bees"; built+=(ants-bees)
  for c in ants bees; do
    take "$hym" "hymenoptera_data/train/$c" "$out/ants-bees/selection/$c" 1 30
    take "$hym" "hymenoptera_data/train/$c" "$out/ants-bees/pool/$c" 31 0
    take "$hym" "hymenoptera_data/val/$c" "$out/ants-bees/test/$c" 1 0
  done
fi
if [ "$scenes" != - ]; then
  scenes=$(gd "$scenes"); rm -rf "$out/scenes"; built+=(scenes)
  export REV=5b571f44a7fdd66301f05b6921c07ee71b9e324c UNIQUE=1
  for c in buildings forest glacier mountain sea street; do
    take "$scenes" "train/$c" "$out/scenes/selection/$c" 1 60
    take "$scenes" "train/$c" "$out/scenes/pool/$c" 61 0
    take "$scenes" "test/$c" "$out/scenes/test/$c" 1 100
  done
  unset REV UNIQUE
fi
for d in "${built[@]}"; do
  for s in pool selection test; do printf '%s/%s: %s images\n' "$d" "$s" "$(find "$out/$d/$s" -type f | wc -l)"; done
done
