#!/bin/bash
# Submits an ismc experiment as a Slurm job array of N shards plus a merge
# job that starts when every shard has succeeded:
#   CONFIG=experiments/lattice-crossing-quick.toml OUT=runs/x bash experiments/slurm/submit.sh 3
# Prints the merge job's id.
set -euo pipefail
N=${1:?usage: submit.sh NUMBER_OF_SHARDS}
here=$(dirname "$0")
array=$(sbatch --parsable --export=ALL --array=0-$((N - 1)) "$here/sweep.sbatch")
sbatch --parsable --export=ALL --dependency=afterok:"$array" "$here/merge.sbatch"
