#include "core/model/dropout_rng.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "core/common/check.h"

namespace gensar::model {
namespace {

// splitmix64: decorrelates seeds that differ in a few bits (seed, seed + 1, rank ids).
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Inverted-dropout multiplier: 1/(1-p) where kept, 0 where dropped (one pass over x to apply).
torch::Tensor keep_mask(at::IntArrayRef shape, double p, at::Generator& gen) {
  return torch::empty(shape, torch::kFloat).bernoulli_(1.0 - p, gen).mul_(1.0 / (1.0 - p));
}

}  // namespace

DropoutRng::DropoutRng(uint64_t seed, int dp_rank, int tp_rank)
    : replicated_(at::detail::createCPUGenerator()), sharded_(at::detail::createCPUGenerator()) {
  reseed(seed, dp_rank, tp_rank);
}

void DropoutRng::reseed(uint64_t seed, int dp_rank, int tp_rank) {
  const uint64_t replica = mix(mix(seed ^ 0x64726f70ULL) + static_cast<uint64_t>(dp_rank));
  replicated_.set_current_seed(replica);
  sharded_.set_current_seed(mix(replica + 0x2718ULL + static_cast<uint64_t>(tp_rank)));
}

torch::Tensor DropoutRng::state() const {
  return torch::stack({replicated_.get_state(), sharded_.get_state()});
}

void DropoutRng::set_state(const torch::Tensor& state) {
  GENSAR_CHECK(state.dim() == 2 && state.size(0) == 2, "dropout RNG state has shape {}, want [2, n]",
               c10::str(state.sizes()));
  replicated_.set_state(state[0].contiguous());
  sharded_.set_state(state[1].contiguous());
}

torch::Tensor replicated_dropout(const torch::Tensor& x, double p, bool train, DropoutRng& rng) {
  if (!train || p <= 0) return x;
  return x * keep_mask(x.sizes(), p, rng.replicated());
}

torch::Tensor sharded_dropout(const torch::Tensor& x, double p, bool train, DropoutRng& rng,
                              int64_t dim, int tp_rank, int tp_size) {
  if (!train || p <= 0) return x;
  torch::Tensor mask;
  if (tp_size == 1 || !rng.full_masks_in_tp_regions) {
    mask = keep_mask(x.sizes(), p, tp_size == 1 ? rng.replicated() : rng.sharded());
  } else {
    std::vector<int64_t> full(x.sizes().begin(), x.sizes().end());
    const int64_t local = full[dim];
    full[dim] = local * tp_size;
    mask = keep_mask(full, p, rng.replicated()).narrow(dim, tp_rank * local, local);
  }
  return x * mask;
}

}  // namespace gensar::model
