#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite (unit, multi-rank under mpirun, e2e).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
cd "${GENSAR_BUILD_DIR:-$ROOT/build}"
ctest --output-on-failure -j "${GENSAR_TEST_JOBS:-2}" "$@"
