#!/usr/bin/env bash
# Issue 5's large-k target: k = 16 slices with L = 33 points per axis
# (33¹⁶ ≈ 2·10²⁴ virtual sites) of the trained LeNet5, for real–real pairs of
# digit 0 (items 2i, 2i+1 in the bundled order). Pairs 6,7, 10,11 and 12,13
# are the first three whose straight path has a barrier of more than the
# higher endpoint loss; 0,34 has none. `--method certify` searches for a
# path at max(ℓ(A), ℓ(C)) (exact if found), then bisects the level
# (8 steps, 50,000 evaluations per search) and reports lower_bound ≤ ℓ* ≤
# upper_bound with the searches and sampled p* bounds. About 2 minutes.
#   bash experiments/slice-k16.sh            # into results/slice-k16/
set -euo pipefail
cd "$(dirname "$0")/.."
ISMC=${ISMC:-target/release/ismc}
OUT=${OUT:-results/slice-k16}
mkdir -p "$OUT"
for pair in 6,7 10,11 12,13 0,34; do
    tmp="$OUT/.pair_${pair/,/_}.json.tmp"
    "$ISMC" -q slice --model lenet5-mnist --pair "$pair" --dims 16 --side 33 \
        --method certify --max-evaluations 450000 --json > "$tmp"
    mv "$tmp" "$OUT/pair_${pair/,/_}.json"
done
echo "written to $OUT/"
