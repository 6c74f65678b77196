#!/usr/bin/env bash
# An interrupted `gensar pipeline` picks the train stage up from its checkpoint: after a complete
# tiny pipeline, the train stage is made to look interrupted (its stamp back to "pending", the
# checkpoint at its last step kept); the rerun must resume (not retrain from step 0) and leave the
# same number of step records. A changed config must not resume, and its fresh run must not append
# to the earlier run's files (the earlier run is moved to run.replaced-1).
#   pipeline_resume.sh GENSAR SOURCE_DIR
set -euo pipefail
GENSAR="$1"; SRC="$2"
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
cd "$SRC"
STAGES=ingest,embed-text,embed-collab,index,train
"$GENSAR" pipeline --config configs/tiny.ini --workdir "$WORK/w" --stages "$STAGES" > "$WORK/first.log" 2>&1
steps() { grep -c '"grad_norm"' "$WORK/w/run/metrics.jsonl"; }
first=$(steps)
[ "$first" -gt 0 ] || { echo "no step records after the first run"; exit 1; }
mv "$WORK/w/.stamps/train" "$WORK/w/.stamps/train.pending"
"$GENSAR" pipeline --config configs/tiny.ini --workdir "$WORK/w" --stages "$STAGES" > "$WORK/second.log" 2>&1
grep -q "train: running gensar train (resuming the interrupted run)" "$WORK/second.log" || {
  echo "the interrupted train stage did not resume"; cat "$WORK/second.log"; exit 1; }
[ "$(steps)" -eq "$first" ] || { echo "resumed run has $(steps) step records, expected $first"; exit 1; }
[ -f "$WORK/w/.stamps/train" ] && [ ! -f "$WORK/w/.stamps/train.pending" ] || {
  echo "stamps not settled after the resumed stage"; exit 1; }
# A pending stamp from another config is not resumed.
echo "some-other-stamp" > "$WORK/w/.stamps/train.pending"
rm "$WORK/w/.stamps/train"
"$GENSAR" pipeline --config configs/tiny.ini --workdir "$WORK/w" --stages "$STAGES" > "$WORK/third.log" 2>&1
if grep -q "resuming the interrupted run" "$WORK/third.log"; then
  echo "a pending stamp of another config was resumed"; exit 1
fi
# That fresh run starts an empty run directory; the earlier run is kept beside it, whole.
[ "$(steps)" -eq "$first" ] || {
  echo "the fresh run mixed its metrics with the earlier run's ($(steps) step records, expected $first)"; exit 1; }
[ -f "$WORK/w/run.replaced-1/metrics.jsonl" ] && [ -d "$WORK/w/run.replaced-1/checkpoints" ] || {
  echo "the earlier run was not kept as run.replaced-1"; ls "$WORK/w"; exit 1; }
echo "pipeline resume: ok ($first step records)"
