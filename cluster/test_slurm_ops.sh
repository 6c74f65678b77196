#!/usr/bin/env bash
# ctest driver (test_ops_slurm): the operations of docs/operations.md on the local one-node Slurm
# cluster, with the shipped batch scripts and configs/tiny.ini:
#   1. `gensar pipeline` builds the tiny dataset and identifiers (one process);
#   2. `sbatch cluster/train.sbatch configs/train-tiny.ini` twice under 2 tasks: a reference run,
#      and a run that gets SIGTERM through `scancel --signal=TERM` mid-run. The second must save
#      the same step on both ranks, exit 75, requeue itself, resume and finish with per-step
#      records (loss, per-task losses, gradient norm, learning rate) identical to the reference;
#   3. the preempted checkpoint resumed on 1 task with the same global batch (another DP size);
#   4. `gensar sweep --slurm-array` over configs/sweep-tiny.ini: the shared-stages job, then a job
#      array of two variants, both with metrics; `gensar report --html` over the sweep.
#   bash cluster/test_slurm_ops.sh GENSAR_BINARY WORKDIR
# Exits 77 (ctest SKIP) when Slurm is not installed or we are not root.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
GENSAR="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
WORK="$2"
if ! command -v slurmctld >/dev/null || ! command -v sbatch >/dev/null || [ "$(id -u)" -ne 0 ]; then
  echo "Slurm not installed or not root: skipping"
  exit 77
fi
# Stop the cluster on exit only if this test started it (cluster/local_slurm.sh).
bash "$HERE/local_slurm.sh" running || trap 'bash "$HERE/local_slurm.sh" stop' EXIT
eval "$(bash "$HERE/local_slurm.sh" start)" || exit 1
export GENSAR OMP_NUM_THREADS=1 GENSAR_LOG_LEVEL=info
rm -rf "$WORK" && mkdir -p "$WORK/runs" || exit 1
cd "$WORK" || exit 1
T0=$SECONDS
fail() { echo "FAIL: $*" >&2; for f in "$WORK"/*.out; do echo "== $f"; tail -n 30 "$f"; done >&2; exit 1; }
say() { echo "[test_slurm_ops +$((SECONDS - T0))s] $*"; }

# job_state ID: PENDING / RUNNING / COMPLETED / ... ("" once Slurm forgot the job, MinJobAge=60 s).
job_state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n 1; }
# wait_done ID SECONDS: until the job left the queue for good; fails on timeout.
wait_done() {
  local id=$1 limit=$2 start=$SECONDS state
  while :; do
    state=$(job_state "$id")
    case "$state" in
      COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|"") echo "$state"; return 0 ;;
    esac
    [ $((SECONDS - start)) -lt "$limit" ] || { scancel "$id"; echo "TIMEOUT_WAITING($state)"; return 1; }
    sleep 1
  done
}
# Step records (validation lines have no gradient norm) without the throughput field: timing
# differs between runs, nothing else may.
step_records() { grep '"grad_norm"' "$1" | sed 's/"samples_per_s":[^,}]*,\{0,1\}//'; }

# 1. Tiny dataset and identifiers, as docs/operations.md does it.
say "pipeline: ingest .. index"
"$GENSAR" pipeline --config "$ROOT/configs/tiny.ini" \
  --stages ingest,embed-text,embed-collab,index --log-level warn > pipeline.log 2>&1 \
  || { cat pipeline.log; fail "tiny pipeline"; }
cp "$ROOT/configs/train-tiny.ini" train-tiny.ini

# 2. Reference and preempted runs of the same config, submitted as a user would.
say "sbatch reference and preempted runs"
ref=$(sbatch --parsable --output="$WORK/ref-%j.out" \
  --export=ALL,EXTRA_ARGS="--out runs/tiny/train-reference" \
  "$ROOT/cluster/train.sbatch" train-tiny.ini) || fail "sbatch reference"
job=$(sbatch --parsable --output="$WORK/train-%j.out" \
  "$ROOT/cluster/train.sbatch" train-tiny.ini) || fail "sbatch train"
metrics=runs/tiny/train-slurm/metrics.jsonl
start=$SECONDS
until [ -f "$metrics" ] && [ "$(grep -c '"grad_norm"' "$metrics")" -ge 12 ]; do
  [ $((SECONDS - start)) -lt 180 ] || fail "job $job wrote no 12 steps in 180 s (state $(job_state "$job"))"
  sleep 0.2
done
say "preempting job $job at step $(grep -c '"grad_norm"' "$metrics")"
scancel --signal=TERM "$job" || fail "scancel --signal=TERM"
# The job saves, exits 75 and requeues itself: it goes back to PENDING with one restart.
start=$SECONDS
until scontrol show job "$job" | grep -q 'Restarts=1' && [ "$(job_state "$job")" = PENDING ]; do
  [ $((SECONDS - start)) -lt 120 ] || fail "job $job was not requeued (state $(job_state "$job"))"
  sleep 0.5
done
saved=$(sed -n 's/^step-\([0-9]*\)$/\1/p' runs/tiny/train-slurm/checkpoints/latest)
grep -q "stop requested: saved step $saved" "$WORK/train-$job.out" || fail "no 'saved step $saved' in the job log"
grep -q "srun exited with 75" "$WORK/train-$job.out" || fail "srun did not exit 75"
[ "$saved" -gt 0 ] && [ "$saved" -lt 30 ] || fail "saved step $saved is not mid-run"
ckpt=runs/tiny/train-slurm/checkpoints/step-$saved
for f in rng-tp00-dp000.pt rng-tp00-dp001.pt model-tp00-dp000.pt optim-tp00-dp000.pt; do
  [ -s "$ckpt/$f" ] || fail "$ckpt/$f missing: not every rank saved step $saved"
done
grep -q "\"step\": *$saved\b" "$ckpt/state.json" || fail "$ckpt/state.json is not step $saved"
say "saved step $saved on both ranks; requeued"
# A copy of the stopped run resumes on one task (step 3 below) while the requeued job runs.
cp -a runs/tiny/train-slurm runs/tiny/train-dp1
# Slurm 22.05 holds a requeued job for two minutes (its begin time); an operator can release it
# once the stopped attempt has ended on the node. Released within the second of the requeue,
# slurmd refuses the launch ("Job credential revoked") and the job fails for good.
start=$SECONDS
while pgrep -f "slurmstepd: \[$job\." > /dev/null; do
  [ $((SECONDS - start)) -lt 60 ] || fail "job $job's stopped attempt did not end"
  sleep 0.5
done
# slurmd revoked the stopped attempt's credential at a time in whole seconds and refuses any new
# credential issued in that same second ("credential revoked": the job fails for good). On a
# loaded machine the stopped attempt can end within the second of the revocation, so let the
# clock move past it before releasing the job.
sleep 2
scontrol update JobId="$job" StartTime=now || fail "scontrol update StartTime=now"
start=$SECONDS
until grep -q "restart 1" "$WORK/train-$job.out"; do
  state=$(job_state "$job")
  case "$state" in PENDING|RUNNING|CONFIGURING) ;; *)
    grep -n "job $job\b\|JobId=$job\b" "${SLURM_CONF%/*}/log/"slurm*.log >&2
    fail "requeued job $job did not start again (state ${state:-forgotten})" ;;
  esac
  [ $((SECONDS - start)) -lt 120 ] || fail "requeued job $job did not start within 120 s (state $state)"
  sleep 0.5
done

# 3. Resume on another DP size: 1 task x batch 8 = the same global batch as 2 tasks x 4.
dp1=$(sbatch --parsable --ntasks-per-node=1 --output="$WORK/dp1-%j.out" \
  --export=ALL,EXTRA_ARGS="--out runs/tiny/train-dp1 --batch-size 8" \
  "$ROOT/cluster/train.sbatch" train-tiny.ini) || fail "sbatch dp1"

for id in "$ref" "$job" "$dp1"; do
  state=$(wait_done "$id" 300) || fail "job $id: $state"
done
grep -q "srun exited with 0" "$WORK/ref-$ref.out" || fail "reference run failed"
grep -q "restart 1" "$WORK/train-$job.out" || fail "job $job did not restart"
grep -q "resumed from runs/tiny/train-slurm/checkpoints/step-$saved at step $saved" "$WORK/train-$job.out" \
  || fail "requeued job did not resume from step $saved"
[ "$(grep -c 'srun exited with 0' "$WORK/train-$job.out")" -eq 1 ] || fail "requeued job did not finish"
grep -q "srun exited with 0" "$WORK/dp1-$dp1.out" || fail "DP-1 resume failed"
step_records runs/tiny/train-reference/metrics.jsonl > ref.steps
step_records runs/tiny/train-slurm/metrics.jsonl > preempted.steps
[ "$(wc -l < ref.steps)" -eq 30 ] || fail "reference has $(wc -l < ref.steps) steps, not 30"
diff ref.steps preempted.steps > steps.diff || { head steps.diff; fail "preempted + resumed run differs from the reference"; }
say "preempted run resumed at step $((saved + 1)): 30 step records identical to the reference"
# DP 1: the data order is the same (consumed_samples by step); losses are close, not bit-equal
# (dropout streams are per DP rank, docs/training.md).
step_records runs/tiny/train-dp1/metrics.jsonl | sed -n 's/.*"consumed_samples":\([0-9]*\).*"step":\([0-9]*\).*/\2 \1/p' > dp1.order
sed -n 's/.*"consumed_samples":\([0-9]*\).*"step":\([0-9]*\).*/\2 \1/p' ref.steps > ref.order
diff ref.order dp1.order > /dev/null || fail "DP-1 resume: steps or consumed samples differ from the reference"
grep -q "restart 0.*train-tiny.ini" "$WORK/dp1-$dp1.out" || fail "DP-1 job log lacks its start line"
say "resumed on 1 task from step $saved to 30"

# 4. A sweep of two variants: shared stages once, then a job array, then the report.
say "sweep --slurm-array"
"$GENSAR" sweep --config "$ROOT/configs/tiny.ini" --sweep "$ROOT/configs/sweep-tiny.ini" \
  --workdir runs/tiny-sweep --slurm-array --gensar-binary "$GENSAR" --log-level warn > sweep.log 2>&1 \
  || { cat sweep.log; fail "gensar sweep --slurm-array"; }
(cd "$ROOT" && bash "$WORK/runs/tiny-sweep/submit-sweep.sh") > submit.log 2>&1 || { cat submit.log; fail "submit-sweep.sh"; }
array=$(sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' submit.log | tail -n 1)
[ -n "$array" ] || { cat submit.log; fail "no array job id"; }
start=$SECONDS
while squeue -h -r -j "$array" 2>/dev/null | grep -q .; do
  [ $((SECONDS - start)) -lt 420 ] || { squeue; fail "sweep array $array did not finish"; }
  sleep 2
done
for v in gensar-full no-task-prompts; do
  [ -s "runs/tiny-sweep/$v/metrics/gensar/metrics.json" ] \
    || { tail -n 40 runs/tiny-sweep/sweep-*.out; fail "variant $v has no metrics"; }
done
"$GENSAR" report runs/tiny-sweep --html runs/tiny-sweep/report.html --json > report.json \
  || fail "gensar report over the sweep"
for v in gensar-full no-task-prompts; do
  grep -q "\"system\": \"$v\"" report.json || fail "report lacks $v"
done
grep -c "<svg" runs/tiny-sweep/report.html | grep -qv '^0$' || fail "report.html has no charts"
say "sweep: both variants evaluated; report written"
echo "PASS ($((SECONDS - T0)) s)"
