#!/usr/bin/env bash
# The main job: installs dependencies, builds, and runs the whole pipeline on the small default
# dataset (configs/demo.ini), ending in the metrics table. Reruns only stale stages.
# Runs on GENSAR_DEMO_RANKS MPI ranks x 1 thread (default: 2 when the machine has 2+ cores; two
# ranks use two cores about twice as well as two threads, docs/performance.md).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh" --target gensar  # the main job runs only the gensar binary
cd "$ROOT"
GENSAR="${GENSAR_BUILD_DIR:-$ROOT/build}/launch/gensar"
"$GENSAR" info
RANKS="${GENSAR_DEMO_RANKS:-$( [ "$(nproc)" -ge 2 ] && echo 2 || echo 1 )}"
PIPELINE=("$GENSAR" pipeline --config configs/demo.ini --workdir "${GENSAR_RUN_DIR:-runs/demo}" "$@")
[ "$RANKS" -le 1 ] && exec "${PIPELINE[@]}"
# gensar-mpirun turns Ctrl-C into a checkpoint-and-stop on every rank (cluster/gensar-mpirun).
exec "$ROOT/cluster/gensar-mpirun" --allow-run-as-root --oversubscribe --bind-to none -np "$RANKS" \
  -x OMP_NUM_THREADS=1 "${PIPELINE[@]}"
