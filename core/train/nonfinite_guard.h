// Divergence guard of the training loop: a step whose loss or gradient norm is NaN or infinite must
// never reach the weights (and so never a checkpoint, nor `best`). By default the first such step
// stops the run with an error; `--skip-nonfinite N` instead skips up to N such steps (no optimiser
// update, gradients dropped; the step still counts and its samples are consumed) and stops at the
// N+1-th. Every rank reaches the same decision (one all-reduce per step), so the job ends together.
#pragma once

#include <cstdint>

#include "distributed/communicator.h"

namespace gensar::train {

class NonfiniteGuard {
 public:
  explicit NonfiniteGuard(int64_t max_skips = 0) : max_skips_(max_skips) {}

  // Collective over `world`. `local_loss` is this rank's loss sum of the step. True: apply the
  // optimiser step. False: skip it. Throws gensar::Error on every rank when the budget is spent.
  bool admit(int64_t step, double local_loss, double grad_norm, dist::Communicator& world);

  int64_t skipped() const { return skipped_; }

 private:
  int64_t max_skips_;
  int64_t skipped_ = 0;
};

}  // namespace gensar::train
