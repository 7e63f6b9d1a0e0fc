#!/usr/bin/env bash
# Acceptance check of issue 2: the default `ismc lattice threshold --dim D
# --kind K --json` for every D in 2..13 and both kinds; one JSON line each.
# Usage: bash experiments/lattice-defaults.sh [ISMC_BINARY] > results/lattice-defaults.jsonl
set -euo pipefail
ismc="${1:-target/release/ismc}"
for d in 2 3 4 5 6 7 8 9 10 11 12 13; do
    for k in site bond; do
        "$ismc" --quiet lattice threshold --dim "$d" --kind "$k" --json
    done
done
