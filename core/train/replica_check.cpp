#include "core/train/replica_check.h"

#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/common/check.h"

namespace gensar::train {
namespace {

// Exact checksum of a float32 tensor's bits: the sum of its 32-bit words widened to int64 (no
// overflow below 2^32 elements). Bit-level, so replicas that differ by one ulp anywhere disagree.
int64_t bit_checksum(const torch::Tensor& param, const std::string& name) {
  GENSAR_CHECK(param.scalar_type() == torch::kFloat, "replica check: parameter '{}' is {}, only "
               "float32 is checksummed", name, c10::toString(param.scalar_type()));
  return param.detach().contiguous().view(torch::kInt).to(torch::kLong).sum().item<int64_t>();
}

}  // namespace

void check_replicas_agree(const torch::nn::Module& model, dist::Communicator& dp, int64_t step) {
  if (dp.size() == 1) return;
  std::vector<std::string> names;
  std::vector<int64_t> sums;
  for (const auto& item : model.named_parameters()) {
    names.push_back(item.key());
    sums.push_back(bit_checksum(item.value(), item.key()));
  }
  const auto n = static_cast<int64_t>(sums.size());
  // One MAX reduction of [c, -c] gives each parameter's max and min checksum over the replicas.
  torch::Tensor local = torch::tensor(sums, torch::kLong);
  torch::Tensor extremes = torch::cat({local, -local});
  dp.all_reduce(extremes, dist::ReduceOp::kMax);
  auto max = extremes.narrow(0, 0, n), min = -extremes.narrow(0, n, n);
  auto differs = (max != min).nonzero();
  if (differs.numel() == 0) return;
  const int64_t first = differs[0][0].item<int64_t>();
  GENSAR_FAIL("step {}: data-parallel replicas disagree on parameter '{}' (bit checksums from {} to "
              "{} over {} DP ranks; {} of {} parameters differ): the replicas have diverged",
              step, names[first], min[first].item<int64_t>(), max[first].item<int64_t>(), dp.size(),
              differs.size(0), n);
}

}  // namespace gensar::train
