#include "core/tensor_parallel/dropout_rng.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "core/common/check.h"
#include "core/common/seed.h"
#include "core/common/vector_clones.h"

namespace gensar::tp {
namespace {

// The hash word of elements 4 w .. 4 w + 3: four 16-bit lanes, lowest first.
inline uint64_t word_hash(uint64_t key, int64_t w) {
  return seed::mix(key ^ (static_cast<uint64_t>(w) * 0xd6e8feb86659fd93ULL));
}

// Whole hash words [w_begin, w_end): elements 4 w .. 4 w + 3 into out[4 (w - w_begin) ..]. The
// hash's 64-bit multiplies vectorise only with AVX-512 (GENSAR_VECTOR_CLONES).
GENSAR_VECTOR_CLONES
void fill_words(uint64_t key, uint32_t threshold, float scale, int64_t w_begin, int64_t w_end,
                float* __restrict out) {
  for (int64_t w = w_begin; w < w_end; ++w) {
    const uint64_t h = word_hash(key, w);
    float* o = out + 4 * (w - w_begin);
    for (int lane = 0; lane < 4; ++lane)
      o[lane] = ((h >> (16 * lane)) & 0xffff) < threshold ? scale : 0.0f;
  }
}

// Inverted-dropout multiplier: 1/(1-p) where kept, 0 where dropped. LibTorch's CPU bernoulli_
// without MKL draws element by element from the generator (about a tenth of a training step); a
// KeepMask fills at memory speed, in parallel, and is still a pure function of the generator state
// (so checkpoints and TP slicing stay exact).
torch::Tensor keep_mask(at::IntArrayRef shape, double p, at::Generator& gen) {
  const KeepMask mask = KeepMask::draw(p, gen);
  torch::Tensor out = torch::empty(shape, torch::kFloat);
  float* data = out.data_ptr<float>();
  at::parallel_for(0, out.numel(), 16384, [&](int64_t begin, int64_t end) {
    mask.fill(begin, end, data + begin);
  });
  return out;
}

}  // namespace

KeepMask KeepMask::draw(double p, at::Generator& gen) {
  KeepMask m;
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    m.key = gen.get<at::CPUGeneratorImpl>()->random64();
  }
  m.threshold = static_cast<uint32_t>(std::clamp<double>(std::round((1.0 - p) * 65536.0), 1.0, 65536.0));
  m.scale = static_cast<float>(65536.0 / m.threshold);
  return m;
}

void KeepMask::fill(int64_t begin, int64_t end, float* out) const {
  // The part before the first whole word and after the last one, element by element.
  auto one_by_one = [&](int64_t from, int64_t to) {
    for (int64_t i = from; i < to;) {
      uint64_t h = word_hash(key, i >> 2);
      h >>= 16 * (i & 3);
      for (int64_t lane = i & 3; lane < 4 && i < to; ++lane, ++i, h >>= 16)
        out[i - begin] = (h & 0xffff) < threshold ? scale : 0.0f;
    }
  };
  const int64_t first_word = (begin + 3) / 4, last_word = end / 4;
  if (first_word >= last_word) return one_by_one(begin, end);
  one_by_one(begin, 4 * first_word);
  fill_words(key, threshold, scale, first_word, last_word, out + (4 * first_word - begin));
  one_by_one(4 * last_word, end);
}

at::Generator* local_mask_generator(DropoutRng& rng, int tp_size) {
  if (tp_size == 1) return &rng.replicated();
  return rng.full_masks_in_tp_regions ? nullptr : &rng.sharded();
}

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
  if (at::Generator* gen = local_mask_generator(rng, tp_size)) {
    mask = keep_mask(x.sizes(), p, *gen);
  } else {
    std::vector<int64_t> full(x.sizes().begin(), x.sizes().end());
    const int64_t local = full[dim];
    full[dim] = local * tp_size;
    mask = keep_mask(full, p, rng.replicated()).narrow(dim, tp_rank * local, local);
  }
  return x * mask;
}

}  // namespace gensar::tp
