#!/usr/bin/env bash
# Replications of the long d = 3 site run (results/lattice-d3-long.jsonl,
# seed 2026, 400 s) with other seeds, to see whether its |z| ≈ 7e-5 was luck:
# under a correct estimator z is a standard normal draw, so independent seeds
# must scatter with |z| of order 1.
# Usage: bash experiments/lattice-d3-replication.sh [ISMC_BINARY] > results/lattice-d3-replication.jsonl
set -euo pipefail
ismc="${1:-target/release/ismc}"
for seed in 11 12 13; do
    "$ismc" --quiet lattice threshold --dim 3 --kind site --method fss --budget-secs 240 --seed "$seed" --json
done
