#include "data_pipeline/sample_order.h"

#include "core/common/check.h"
#include "core/common/seed.h"

namespace gensar::data {

uint64_t mix64(uint64_t x) { return seed::mix(x); }

uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b) {
  return seed::derive(seed, seed::Purpose::kGeneric, {a, b});
}

EpochPermutation::EpochPermutation(int64_t num_samples, uint64_t seed, int64_t epoch, bool shuffle)
    : n_(num_samples), shuffle_(shuffle) {
  GENSAR_CHECK(num_samples > 0, "a sample order needs at least one sample, got {}", num_samples);
  GENSAR_CHECK(epoch >= 0, "negative epoch {}", epoch);
  // Smallest even bit width 2k with 2^(2k) >= n (at least 2 bits so each half has one bit):
  // the domain is < 4n, so cycle walking takes fewer than 4 steps on average.
  int bits = 2;
  while (bits < 62 && (uint64_t{1} << bits) < static_cast<uint64_t>(n_)) bits += 2;
  half_bits_ = bits / 2;
  half_mask_ = (uint64_t{1} << half_bits_) - 1;
  for (int r = 0; r < 6; ++r) round_keys_[r] = mix_seed(seed, static_cast<uint64_t>(epoch), r + 1);
}

uint64_t EpochPermutation::feistel(uint64_t x) const {
  uint64_t left = x >> half_bits_;
  uint64_t right = x & half_mask_;
  for (uint64_t key : round_keys_) {
    uint64_t next = left ^ (mix64(right ^ key) & half_mask_);
    left = right;
    right = next;
  }
  return (left << half_bits_) | right;
}

int64_t EpochPermutation::operator()(int64_t offset) const {
  GENSAR_CHECK(offset >= 0 && offset < n_, "offset {} outside [0, {})", offset, n_);
  if (!shuffle_) return offset;
  // A bijection of the 4^k domain restricted to [0, n) by cycle walking stays a bijection.
  uint64_t x = static_cast<uint64_t>(offset);
  do {
    x = feistel(x);
  } while (x >= static_cast<uint64_t>(n_));
  return static_cast<int64_t>(x);
}

SampleOrder::SampleOrder(int64_t num_samples, uint64_t seed, bool shuffle)
    : n_(num_samples), seed_(seed), shuffle_(shuffle) {
  GENSAR_INPUT_CHECK(num_samples > 0, "sample order: the dataset has no samples");
}

int64_t SampleOrder::sample_at(int64_t position) const {
  GENSAR_CHECK(position >= 0, "negative stream position {}", position);
  return EpochPermutation(n_, seed_, position / n_, shuffle_)(position % n_);
}

void RankSlice::validate() const {
  GENSAR_INPUT_CHECK(dp_size >= 1, "data-parallel size must be >= 1, got {}", dp_size);
  GENSAR_INPUT_CHECK(dp_rank >= 0 && dp_rank < dp_size, "data-parallel rank {} outside [0, {})",
                     dp_rank, dp_size);
  GENSAR_INPUT_CHECK(global_batch_size >= dp_size && global_batch_size % dp_size == 0,
                     "global batch size {} must be a positive multiple of the data-parallel size {}",
                     global_batch_size, dp_size);
}

PositionRange rank_positions(const RankSlice& slice, int64_t consumed_samples) {
  slice.validate();
  GENSAR_CHECK(consumed_samples >= 0, "negative consumed_samples {}", consumed_samples);
  const int64_t share = slice.per_rank();
  const int64_t begin = consumed_samples + slice.dp_rank * share;
  return {begin, begin + share};
}

std::vector<int64_t> rank_batch(const SampleOrder& order, const RankSlice& slice,
                                int64_t consumed_samples) {
  const PositionRange range = rank_positions(slice, consumed_samples);
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(range.end - range.begin));
  for (int64_t p = range.begin; p < range.end; ++p) out.push_back(order.sample_at(p));
  return out;
}

std::vector<std::vector<int64_t>> split_micro_batches(const std::vector<int64_t>& rank_batch,
                                                      int64_t micro_batch_size) {
  GENSAR_INPUT_CHECK(micro_batch_size > 0, "micro-batch size must be positive, got {}",
                     micro_batch_size);
  std::vector<std::vector<int64_t>> out;
  for (size_t i = 0; i < rank_batch.size(); i += static_cast<size_t>(micro_batch_size)) {
    const size_t end = std::min(rank_batch.size(), i + static_cast<size_t>(micro_batch_size));
    out.emplace_back(rank_batch.begin() + static_cast<std::ptrdiff_t>(i),
                     rank_batch.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return out;
}

}  // namespace gensar::data
