#!/usr/bin/env bash
# How to launch gensar with OpenMPI (copy the line you need; this file is documentation that runs).
# Every rank reads its rank and local rank from OpenMPI's environment; world size = DP x TP.
set -euo pipefail
GENSAR="${GENSAR:-build/launch/gensar}"
CONFIG="${CONFIG:-configs/demo.ini}"
# cluster/gensar-mpirun wraps mpirun so that SIGTERM/SIGINT to the launcher (kill, Ctrl-C, a
# scheduler signalling the job script) makes every rank checkpoint and exit 75, which plain mpirun
# does not allow (it SIGKILLs the ranks ~1 s after a SIGTERM); SIGUSR1 works with either.
MPI="$(dirname "$0")/gensar-mpirun --allow-run-as-root --bind-to none -x OMP_NUM_THREADS=1"
case "${1:-help}" in
  dp2)        # data parallel on one machine, one core per rank
    $MPI -np 2 "$GENSAR" train --config "$CONFIG" ;;
  dp2tp2)     # 4 ranks: TP groups {0,1} {2,3}, DP groups {0,2} {1,3}
    $MPI -np 4 --oversubscribe "$GENSAR" train --config "$CONFIG" --tp-size 2 ;;
  two-nodes)  # 2 nodes x 8 GPUs: one rank per GPU, GPU chosen by local rank
    $MPI -np 16 -H node1:8,node2:8 -x NCCL_DEBUG=WARN "$GENSAR" train --config "$CONFIG" \
      --device cuda --tp-size 2 ;;
  bench)      # data-parallel scaling benchmark
    $MPI -np 2 --oversubscribe "${BENCH_DP:-build/bench/bench_dp}" ;;
  *)
    echo "usage: $0 dp2|dp2tp2|two-nodes|bench   (GENSAR, CONFIG override paths)" ;;
esac
