#!/usr/bin/env bash
# Allocator A/B/C (core/common/allocator.h, core/common/tensor_heap.h): bench_model's training step
# with glibc's malloc defaults (GENSAR_MALLOC=default), with gensar's glibc heap settings only
# (freed memory kept in the heap; GENSAR_TENSOR_CACHE_MB=0) and with those plus the tensor block
# cache (gensar's default), PAIRS rounds of the three processes run alternately so that machine
# noise hits them alike; prints each run, the ratios of the medians and one JSON line. Minor page
# faults come from /usr/bin/time.
#   bench/bench_malloc.sh [PAIRS=4] [bench_model options, default --batch 64 --source 86 --target 6 --steps 8]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="${GENSAR_BUILD_DIR:-$ROOT/build}/bench/bench_model"
PAIRS="${1:-4}"; shift || true
ARGS=("$@"); [ ${#ARGS[@]} -eq 0 ] && ARGS=(--batch 64 --source 86 --target 6 --steps 8)
OUT="$(mktemp -d)"; trap 'rm -rf "$OUT"' EXIT
for i in $(seq "$PAIRS"); do
  for mode in default heap cache; do
    case $mode in
      default) env=(GENSAR_MALLOC=default) ;;
      heap) env=(GENSAR_MALLOC=retain GENSAR_TENSOR_CACHE_MB=0) ;;
      cache) env=(GENSAR_MALLOC=retain) ;;
    esac
    env "${env[@]}" OMP_NUM_THREADS=1 /usr/bin/time -f "faults %R" -o "$OUT/t" "$BENCH" "${ARGS[@]}" 2>/dev/null |
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
for m in ("default", "heap", "cache"):
    print(f"malloc {m:8s} samples/s {' '.join(f'{x:.1f}' for x in rates[m])}  median {med[m]:.1f}  "
          f"minor faults/process {statistics.median(faults[m]):.0f}")
print(f"heap / default: {med['heap'] / med['default']:.2f}x   cache / default: {med['cache'] / med['default']:.2f}x   "
      f"cache / heap: {med['cache'] / med['heap']:.2f}x")
out = {"bench": "malloc"}
for m in ("default", "heap", "cache"):
    out[f"samples_per_s_{m}"] = med[m]
    out[f"minor_faults_{m}"] = statistics.median(faults[m])
out["ratio_heap"] = round(med["heap"] / med["default"], 3)
out["ratio_cache"] = round(med["cache"] / med["default"], 3)
out["ratio_cache_over_heap"] = round(med["cache"] / med["heap"], 3)
print(json.dumps(out))
PY
