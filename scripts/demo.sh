#!/usr/bin/env bash
# The main job: installs dependencies, builds, and runs the whole pipeline on the small default
# dataset (configs/demo.ini), ending in the metrics table. Reruns only stale stages.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh" --target gensar  # the main job runs only the gensar binary
cd "$ROOT"
GENSAR="${GENSAR_BUILD_DIR:-$ROOT/build}/launch/gensar"
"$GENSAR" info
"$GENSAR" pipeline --config configs/demo.ini --workdir "${GENSAR_RUN_DIR:-runs/demo}" "$@"
