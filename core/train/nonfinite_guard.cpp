#include "core/train/nonfinite_guard.h"

#include <torch/torch.h>

#include <cmath>

#include "core/common/check.h"
#include "core/common/log.h"

namespace gensar::train {

bool NonfiniteGuard::admit(int64_t step, double local_loss, double grad_norm,
                           dist::Communicator& world) {
  const bool bad_here = !std::isfinite(local_loss) || !std::isfinite(grad_norm);
  torch::Tensor bad = torch::full({1}, bad_here ? 1 : 0, torch::kInt);
  world.all_reduce(bad, dist::ReduceOp::kMax);
  if (bad.item<int>() == 0) return true;
  const std::string what = fmt::format("step {}: the loss ({}) or gradient norm ({}) is not finite{}",
                                       step, local_loss, grad_norm,
                                       bad_here ? "" : " on another rank");
  if (skipped_ < max_skips_) {
    ++skipped_;
    GENSAR_WARN("train", "{}: skipping the update ({} of --skip-nonfinite {})", what, skipped_,
                max_skips_);
    return false;
  }
  throw Error(fmt::format("{}: the run diverged; stopping without a checkpoint (the previous one "
                          "is intact). Lower --lr, or allow skipped steps with --skip-nonfinite N "
                          "({} skipped so far)", what, skipped_));
}

}  // namespace gensar::train
