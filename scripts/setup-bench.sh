#!/usr/bin/env bash
# What the benchmarks need beyond scripts/setup.sh: Debian's python3-torch, the PyTorch eager
# reference that bench_train measures against (bench/t5_eager_reference.py; same LibTorch kernels).
set -euo pipefail
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-torch >/dev/null
fi
/usr/bin/python3 -c "import torch; print('[setup-bench] python3-torch', torch.__version__)"
