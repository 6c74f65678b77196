// Learning-rate schedule: linear warm-up from 0 to the peak over `warmup_steps`, then cosine decay
// to `min_lr_ratio` x peak at `total_steps` (the paper's "cosine, 1% warm-up"). Stateless: the rate
// is a function of the step, so a checkpoint needs only the step to resume it.
#pragma once

#include <cstdint>

namespace gensar::train {

struct LrSchedule {
  double peak_lr = 1e-3;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double min_lr_ratio = 0.0;

  // Rate for optimiser step `step` (0-based: the first update uses rate(0)).
  double rate(int64_t step) const;
};

// warmup_steps from a ratio of total steps (at least 1 step when the ratio is positive).
int64_t warmup_steps_from_ratio(double ratio, int64_t total_steps);

}  // namespace gensar::train
