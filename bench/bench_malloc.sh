#!/usr/bin/env bash
# Allocator A/B (core/common/allocator.h): bench_model's training step with glibc's malloc defaults
# (GENSAR_MALLOC=default) against gensar's setting (freed memory kept in the heap), PAIRS pairs of
# processes run alternately so that machine noise hits both sides alike; prints each run, the ratio
# of the medians and one JSON line. Minor page faults come from /usr/bin/time.
#   bench/bench_malloc.sh [PAIRS=4] [bench_model options, default --batch 64 --source 86 --target 6 --steps 8]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="${GENSAR_BUILD_DIR:-$ROOT/build}/bench/bench_model"
PAIRS="${1:-4}"; shift || true
ARGS=("$@"); [ ${#ARGS[@]} -eq 0 ] && ARGS=(--batch 64 --source 86 --target 6 --steps 8)
OUT="$(mktemp -d)"; trap 'rm -rf "$OUT"' EXIT
for i in $(seq "$PAIRS"); do
  for mode in default retain; do
    GENSAR_MALLOC=$mode OMP_NUM_THREADS=1 /usr/bin/time -f "faults %R" -o "$OUT/t" "$BENCH" "${ARGS[@]}" 2>/dev/null |
      awk -v m=$mode '/training step/ {print m, $(NF-1)}' >>"$OUT/rates"
    echo "$mode $(cat "$OUT/t" | awk '/faults/ {print $2}')" >>"$OUT/faults"
  done
done
python3 - "$OUT/rates" "$OUT/faults" <<'PY'
import json, statistics, sys
rates, faults = {}, {}
for line in open(sys.argv[1]):
    m, v = line.split(); rates.setdefault(m, []).append(float(v))
for line in open(sys.argv[2]):
    m, v = line.split(); faults.setdefault(m, []).append(int(v))
med = {m: statistics.median(v) for m, v in rates.items()}
for m in ("default", "retain"):
    print(f"malloc {m:8s} samples/s {' '.join(f'{x:.1f}' for x in rates[m])}  median {med[m]:.1f}  "
          f"minor faults/process {statistics.median(faults[m]):.0f}")
print(f"retain / default: {med['retain'] / med['default']:.2f}x")
print(json.dumps({"bench": "malloc", "samples_per_s_default": med["default"], "samples_per_s_retain": med["retain"],
                  "ratio": round(med["retain"] / med["default"], 3),
                  "minor_faults_default": statistics.median(faults["default"]),
                  "minor_faults_retain": statistics.median(faults["retain"])}))
PY
