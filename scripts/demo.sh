#!/usr/bin/env bash
# The README's first quick-start command: install what is missing (system
# packages from Debian, assets from the package registries), build ismc in
# release mode and run the main job, which writes report/README-style
# Markdown with tables and figures into ./report.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
if ! dpkg -s libopenblas-dev >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends libopenblas-dev pkg-config >/dev/null
fi
cargo build --release --quiet
./target/release/ismc demo --out "${1:-report}"
echo "report written to ${1:-report}/"
