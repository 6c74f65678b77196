#!/usr/bin/env bash
# Data-parallel efficiency of the real trainer (`gensar train`, not a stand-in model), weak
# scaling as the issue defines it: BATCH samples per rank on 1 rank and on 2 ranks x 1 thread (the
# gradient reducer overlapping its all-reduce with backward). Efficiency = samples/s on 2 ranks /
# (2 x samples/s on 1 rank). Each rate is the median over steps after the first WARM of the
# per-step rate in metrics.jsonl: step costs vary 10x with the batch's task mix (an ID -> text
# batch decodes 128 target tokens), so a mean over a few dozen steps is mostly which batches fell in
# it; the mean is printed too. Strong scaling (one rank at 2 x BATCH) is not used: one process's
# step at batch 64 costs ~2.5x its step at 32 (memory traffic), which would flatter DP.
# Run on an otherwise idle machine; prints a text line and one JSON line.
#   bench/bench_dp_trainer.sh WORKDIR [STEPS=80] [BATCH=32] [PRESET=small]
# WORKDIR: a pipeline work directory with dataset/ and identifiers.h5 (e.g. runs/demo).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(cd "$1" && pwd)"; STEPS="${2:-80}"; BATCH="${3:-32}"; PRESET="${4:-small}"; WARM=10
[ "$PRESET" = small ] && PRESET="tiger:d_ff=512,heads=4,d_kv=32,encoder_layers=2,decoder_layers=2"
GENSAR="${GENSAR_BUILD_DIR:-$ROOT/build}/launch/gensar"
OUT="${GENSAR_BENCH_KEEP:-$(mktemp -d)}"; mkdir -p "$OUT"; [ -n "${GENSAR_BENCH_KEEP:-}" ] || trap 'rm -rf "$OUT"' EXIT
run() {  # $1 = ranks
  local args=(train --dataset "$WORK/dataset" --identifiers "$WORK/identifiers.h5" --out "$OUT/np$1"
              --preset "$PRESET" --id-softmax catalogue --vocab-size 4000 --batch-size "$BATCH"
              --valid-cases 16
              --max-steps "$STEPS" --max-input-len 128 --history-rec 5 --history-search 5
              --valid-every 0 --save-every 0 --log-every 1000 --threads 1 --seed 2024)
  if [ "$1" = 1 ]; then OMP_NUM_THREADS=1 "$GENSAR" "${args[@]}" >"$OUT/np$1.log" 2>&1
  else mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$1" -x OMP_NUM_THREADS=1 \
         "$GENSAR" "${args[@]}" >"$OUT/np$1.log" 2>&1; fi
}
rate() {  # "median mean" samples/s over steps > WARM
  python3 - "$1" "$WARM" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rows = [r for r in rows if r.get("samples_per_s") and r["step"] > int(sys.argv[2])]
batch = rows[1]["consumed_samples"] - rows[0]["consumed_samples"]
print(statistics.median(r["samples_per_s"] for r in rows), len(rows) * batch / sum(batch / r["samples_per_s"] for r in rows))
PY
}
run 1; r1=$(rate "$OUT/np1/metrics.jsonl")
run 2; r2=$(rate "$OUT/np2/metrics.jsonl")
python3 - $r1 $r2 "$STEPS" "$BATCH" "$PRESET" <<'PY'
import json, sys
m1, a1, m2, a2 = map(float, sys.argv[1:5])
steps, batch, preset = int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
print(f"gensar train, {preset}, {steps} steps of {batch} per rank: 1 rank {m1:.1f} samples/s (mean {a1:.1f}), "
      f"2 ranks {m2:.1f} (mean {a2:.1f}); DP efficiency {m2 / (2 * m1):.1%} (of means {a2 / (2 * a1):.1%})")
print(json.dumps({"bench": "dp_trainer", "steps": steps, "batch_per_rank": batch,
                  "samples_per_s_1rank": round(m1, 2), "samples_per_s_2ranks": round(m2, 2),
                  "efficiency": round(m2 / (2 * m1), 4), "efficiency_of_means": round(a2 / (2 * a1), 4)}))
PY
