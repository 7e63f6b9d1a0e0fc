#!/usr/bin/env bash
# Regenerates every figure in figures/ from the committed results, without
# recomputing anything (ismc figures reads only the stored CSV/JSON files).
#   bash scripts/figures.sh            # into figures/
#   OUT=/tmp/f bash scripts/figures.sh # elsewhere (the tests compare the two)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-figures}
if [ -z "${ISMC:-}" ]; then
    cargo build --release --quiet
    ISMC=target/release/ismc
fi
"$ISMC" figures results/lattice-thresholds --out "$OUT" >/dev/null
"$ISMC" figures results/mnist-lenet5-adversarial --out "$OUT/adversarial" >/dev/null
"$ISMC" figures results/mnist-lenet5adv-adversarial --out "$OUT/adversarial-advtrained" >/dev/null
"$ISMC" figures results/mnist-cnn-adversarial --out "$OUT/adversarial-cnn" >/dev/null
"$ISMC" figures results/slice-percolation --out "$OUT/slice-percolation" >/dev/null
"$ISMC" figures results/slice-percolation-cnn --out "$OUT/slice-percolation-cnn" >/dev/null
"$ISMC" figures results/slice-percolation-full --out "$OUT/slice-percolation-full" >/dev/null
"$ISMC" figures results/untrained-connectivity --out "$OUT/untrained-connectivity" >/dev/null
"$ISMC" figures results/untrained-connectivity-paper --out "$OUT/untrained-connectivity-paper" >/dev/null
"$ISMC" figures results/untrained-connectivity-bend-0.005 --out "$OUT/untrained-connectivity-bend-0.005" >/dev/null
"$ISMC" figures results/untrained-resnet18-connectivity --out "$OUT/untrained-resnet18-connectivity" >/dev/null
"$ISMC" figures results/untrained-resnet18-connectivity-paper --out "$OUT/untrained-resnet18-connectivity-paper" >/dev/null
"$ISMC" figures results/training-mnist --out "$OUT/training-mnist" >/dev/null
"$ISMC" figures results/evaluation-mnist --out "$OUT/evaluation-mnist" >/dev/null
"$ISMC" figures results/imagenet-demo --out "$OUT/imagenet-demo" >/dev/null
# A 2-D LeNet5 slice (stored by `ismc slice dense --model lenet5-mnist --a 0
# --c 17 --k 2 --side 101 --out results/slice-heatmap/lenet5-k2`) as a heatmap.
"$ISMC" slice heatmap --field results/slice-heatmap/lenet5-k2 --out "$OUT/slice-percolation/heatmap_lenet5_k2" 2>/dev/null
echo "figures written to $OUT/"
