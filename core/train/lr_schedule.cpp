#include "core/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace gensar::train {

double LrSchedule::rate(int64_t step) const {
  if (warmup_steps > 0 && step < warmup_steps)
    return peak_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  const int64_t decay_steps = std::max<int64_t>(1, total_steps - warmup_steps);
  const double progress =
      std::min(1.0, static_cast<double>(step - warmup_steps) / static_cast<double>(decay_steps));
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
  return peak_lr * (min_lr_ratio + (1.0 - min_lr_ratio) * cosine);
}

int64_t warmup_steps_from_ratio(double ratio, int64_t total_steps) {
  if (ratio <= 0) return 0;
  return std::max<int64_t>(1, static_cast<int64_t>(std::llround(ratio * total_steps)));
}

}  // namespace gensar::train
