#!/usr/bin/env bash
# ctest driver: starts the local one-node Slurm cluster if needed and runs a multi-rank test binary
# through `srun --mpi=pmix`, proving that Slurm-launched OpenMPI ranks form one world.
#   bash cluster/test_slurm_pmix.sh NTASKS BINARY [ARGS...]
# Exits 77 (ctest SKIP) when Slurm is not installed or we are not root.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NTASKS="$1"; shift
if ! command -v slurmctld >/dev/null || ! command -v srun >/dev/null || [ "$(id -u)" -ne 0 ]; then
  echo "Slurm not installed or not root: skipping"
  exit 77
fi
# Stop the cluster on exit only if this test started it (cluster/local_slurm.sh).
bash "$HERE/local_slurm.sh" running || trap 'bash "$HERE/local_slurm.sh" stop' EXIT
eval "$(bash "$HERE/local_slurm.sh" start)" || exit 1
timeout 300 srun --mpi=pmix -n "$NTASKS" --overcommit --kill-on-bad-exit=1 \
  env OMP_NUM_THREADS=1 GENSAR_LOG_LEVEL=warn "$@"
