#!/usr/bin/env bash
# ismc's hot paths side by side with their peers, interleaved round by round
# in one run, so every ratio in docs/performance.md is measured the same way.
#
#   bash scripts/bench-peers.sh            # both parts, 3 rounds each
#   bash scripts/bench-peers.sh nn 5       # one part, 5 rounds
#
# Makes a virtual environment under .cache/peers-venv (onnxruntime, onnx,
# scipy, connected-components-3d and numpy from PyPI; nothing else is
# downloaded), builds the release binary and the `nn` bench, then runs
# scripts/bench_peers.py, which prints Markdown tables. Peers: onnxruntime
# for the LeNet5 forward + loss (the bundled weights exported to ONNX by the
# script itself), cc3d and scipy.ndimage.label for `ismc lattice label`.
# PyTorch is not installed: its PyPI wheels bring several GiB of CUDA
# libraries.
set -euo pipefail
cd "$(dirname "$0")/.."

parts=${1:-"nn label"}
rounds=${2:-3}
venv=${ISMC_PEERS_VENV:-.cache/peers-venv}

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet onnxruntime onnx scipy connected-components-3d numpy
fi
"$venv/bin/python" -c 'import onnxruntime, onnx, scipy, cc3d, numpy
print("peers: onnxruntime", onnxruntime.__version__, "| scipy", scipy.__version__,
      "| cc3d", cc3d.__version__ if hasattr(cc3d, "__version__") else "?", "| numpy", numpy.__version__)'

cargo build --release --quiet
# The nn bench's executable: the path cargo prints for it.
nn_bench=$(cargo bench --no-run --bench nn 2>&1 | sed -n 's/.*Executable benches\/nn.rs (\(.*\))/\1/p' | tail -1)
[ -x "$nn_bench" ] || { echo "could not find the nn bench executable" >&2; exit 1; }

echo "machine: $(lscpu | sed -n 's/Model name: *//p'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for part in $parts; do
    "$venv/bin/python" scripts/bench_peers.py "$part" --rounds "$rounds" \
        --ismc-bin target/release/ismc --nn-bench "$nn_bench"
done
