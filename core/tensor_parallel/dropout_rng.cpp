#include "core/tensor_parallel/dropout_rng.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "core/common/check.h"
#include "core/common/seed.h"

namespace gensar::tp {
namespace {

// Inverted-dropout multiplier: 1/(1-p) where kept, 0 where dropped. The generator gives one 64-bit
// key per mask; the mask itself is a counter-based hash of (key, element index), four 16-bit lanes
// per hash. LibTorch's CPU bernoulli_ without MKL draws element by element from the generator
// (about a tenth of a training step); this fills at memory speed, in parallel, and the result is
// still a pure function of the generator state (so checkpoints and TP slicing stay exact). The keep
// probability is quantised to 1/65536 and the scale is its exact inverse, so E[mask] = 1.
torch::Tensor keep_mask(at::IntArrayRef shape, double p, at::Generator& gen) {
  uint64_t key = 0;
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    key = gen.get<at::CPUGeneratorImpl>()->random64();
  }
  const uint32_t threshold = static_cast<uint32_t>(
      std::clamp<double>(std::round((1.0 - p) * 65536.0), 1.0, 65536.0));
  const float scale = static_cast<float>(65536.0 / threshold);
  torch::Tensor mask = torch::empty(shape, torch::kFloat);
  float* out = mask.data_ptr<float>();
  const int64_t n = mask.numel();
  const int64_t words = (n + 3) / 4;
  at::parallel_for(0, words, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t w = begin; w < end; ++w) {
      uint64_t h = seed::mix(key ^ (static_cast<uint64_t>(w) * 0xd6e8feb86659fd93ULL));
      const int64_t base = w * 4;
      const int64_t lanes = std::min<int64_t>(4, n - base);
      for (int64_t j = 0; j < lanes; ++j, h >>= 16)
        out[base + j] = (h & 0xffff) < threshold ? scale : 0.0f;
    }
  });
  return mask;
}

}  // namespace

DropoutRng::DropoutRng(uint64_t seed, int dp_rank, int tp_rank)
    : replicated_(at::detail::createCPUGenerator()), sharded_(at::detail::createCPUGenerator()) {
  reseed(seed, dp_rank, tp_rank);
}

void DropoutRng::reseed(uint64_t seed, int dp_rank, int tp_rank) {
  const auto dp = static_cast<uint64_t>(dp_rank), tp = static_cast<uint64_t>(tp_rank);
  replicated_.set_current_seed(seed::derive(seed, seed::Purpose::kDropoutReplicated, {dp}));
  sharded_.set_current_seed(seed::derive(seed, seed::Purpose::kDropoutSharded, {dp, tp}));
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

}  // namespace gensar::tp
