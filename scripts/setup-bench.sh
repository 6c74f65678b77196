#!/usr/bin/env bash
# What the benchmarks need beyond scripts/setup.sh: Debian's python3-torch, the PyTorch eager
# reference that bench_train measures against (bench/t5_eager_reference.py; same LibTorch kernels),
# and libjemalloc2, which bench_train preloads into one eager flavour to keep its pages mapped (the
# fault-free eager: docs/performance.md, "Allocator").
set -euo pipefail
missing=()
/usr/bin/python3 -c "import torch" 2>/dev/null || missing+=(python3-torch)
dpkg-query -W -f='${Status}' libjemalloc2 2>/dev/null | grep -q "install ok installed" || missing+=(libjemalloc2)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
/usr/bin/python3 -c "import torch; print('[setup-bench] python3-torch', torch.__version__)"
