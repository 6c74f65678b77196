#!/usr/bin/env bash
# Subnormal-float A/B (core/common/cpu_numerics.h) on a *trained* model: a fresh model has no
# subnormal activations, so bench_model cannot show the effect. Copies RUN_DIR (a finished or
# stopped `gensar train` run, trained from CONFIG) and resumes it for STEPS more optimiser steps as one process (same
# global batch through --grad-accum), PAIRS times alternately with GENSAR_DENORMALS=keep and with
# gensar's default (flush to zero), so that machine noise hits both sides alike. Prints each run's
# samples/s (the trainer's own figure over the resumed steps), the ratio of the medians, one JSON line.
#   bench/bench_denormals.sh RUN_DIR CONFIG [STEPS=40] [PAIRS=2]
# e.g. bench/bench_denormals.sh runs/diag-rec-epochs configs/diag-rec-epochs.ini 24 2
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GENSAR="${GENSAR_BUILD_DIR:-$ROOT/build}/launch/gensar"
RUN="${1:?usage: bench/bench_denormals.sh RUN_DIR CONFIG [STEPS] [PAIRS]}"
CONFIG="${2:?usage: bench/bench_denormals.sh RUN_DIR CONFIG [STEPS] [PAIRS]}"
STEPS="${3:-40}"; PAIRS="${4:-2}"
[ -d "$RUN/checkpoints" ] || { echo "$RUN: not a gensar train run (no checkpoints/)" >&2; exit 2; }
OUT="$(mktemp -d)"; trap 'rm -rf "$OUT"' EXIT
# The checkpoint's step and global batch: resume as one process with the same global batch.
STATE="$RUN/checkpoints/$(cat "$RUN/checkpoints/latest")/state.json"
[ -f "$STATE" ] || { echo "$STATE: missing (no checkpoint to resume)" >&2; exit 2; }
read -r STEP GLOBAL < <(python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(s['step'], s['global_batch'])" "$STATE")
ACCUM="${GRAD_ACCUM:-2}"
for i in $(seq "$PAIRS"); do
  for mode in keep flush; do
    rm -rf "$OUT/run"; cp -r "$RUN" "$OUT/run"
    GENSAR_DENORMALS=$mode OMP_NUM_THREADS=1 "$GENSAR" train --config "$CONFIG" --out "$OUT/run" \
      --resume --max-steps $((STEP + STEPS)) --valid-every -1 --log-every "$STEPS" \
      --grad-accum "$ACCUM" --batch-size $((GLOBAL / ACCUM)) --threads 1 2>&1 |
      awk -v m=$mode '/ step [0-9]+\/[0-9]+ / {for (k = 1; k <= NF; ++k) if ($k == "samples/s") r = $(k - 1)} END {print m, r}' >>"$OUT/rates"
  done
done
python3 - "$OUT/rates" <<'PY'
import json, statistics, sys
rates = {}
for line in open(sys.argv[1]):
    m, v = line.split(); rates.setdefault(m, []).append(float(v))
med = {m: statistics.median(v) for m, v in rates.items()}
for m in ("keep", "flush"):
    print(f"denormals {m:5s} samples/s {' '.join(f'{x:.1f}' for x in rates[m])}  median {med[m]:.1f}")
print(f"flush / keep: {med['flush'] / med['keep']:.2f}x")
print(json.dumps({"bench": "denormals", "samples_per_s_keep": med["keep"],
                  "samples_per_s_flush": med["flush"], "ratio": round(med["flush"] / med["keep"], 3)}))
PY
