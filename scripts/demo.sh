#!/usr/bin/env bash
# The main job: installs dependencies, builds, and runs the pipeline on the small default dataset.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
GENSAR="${GENSAR_BUILD_DIR:-$ROOT/build}/launch/gensar"
RUN_DIR="${GENSAR_RUN_DIR:-$ROOT/runs/demo}"
"$GENSAR" info
