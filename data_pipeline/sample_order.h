// The order in which training samples are visited, Megatron style.
//
// The global stream is epoch 0's permutation of 0..N-1, then epoch 1's, and so on. Each epoch's
// permutation is a pure function of (seed, epoch): a keyed Feistel network over the index bits with
// cycle walking, so any position can be computed in O(1) time and memory, with no table and no state.
// The stream is consumed in global batches of `global_batch_size` positions; data-parallel rank r of
// W takes the contiguous slice [r*G/W, (r+1)*G/W) of each global batch. The only resume state is
// `consumed_samples` (the global number of positions consumed), so after a restart every rank,
// whatever the new DP size, re-slices exactly the same remaining global stream. See docs/sample-order.md.
#pragma once

#include <cstdint>
#include <vector>

namespace gensar::data {

// A bijection of [0, n) keyed by (seed, epoch).
class EpochPermutation {
 public:
  EpochPermutation(int64_t num_samples, uint64_t seed, int64_t epoch, bool shuffle = true);
  int64_t operator()(int64_t offset) const;  // offset in [0, n) -> sample index in [0, n)
  int64_t size() const { return n_; }

 private:
  uint64_t feistel(uint64_t x) const;
  int64_t n_;
  bool shuffle_;
  int half_bits_ = 0;   // the permuted domain is 4^half_bits_ >= n
  uint64_t half_mask_ = 0;
  uint64_t round_keys_[6] = {};
};

// The global (multi-epoch) stream of sample indices.
class SampleOrder {
 public:
  SampleOrder(int64_t num_samples, uint64_t seed, bool shuffle = true);
  int64_t num_samples() const { return n_; }
  uint64_t seed() const { return seed_; }
  // Sample index at global stream position `position` (epoch = position / n). Thread-safe: building
  // an epoch's permutation is six hashes, so nothing is cached.
  int64_t sample_at(int64_t position) const;
  int64_t epoch_of(int64_t position) const { return position / n_; }

 private:
  int64_t n_;
  uint64_t seed_;
  bool shuffle_;
};

// How one data-parallel rank slices the global batches.
struct RankSlice {
  int64_t global_batch_size = 0;  // positions per optimiser step, across all ranks
  int dp_rank = 0;
  int dp_size = 1;
  // Validates G % W == 0 and 0 <= rank < W; throws InputError otherwise.
  void validate() const;
  int64_t per_rank() const { return global_batch_size / dp_size; }
};

// The positions [begin, end) of the global stream that `slice`'s rank consumes in the global batch
// starting at `consumed_samples`.
struct PositionRange {
  int64_t begin = 0;
  int64_t end = 0;
};
PositionRange rank_positions(const RankSlice& slice, int64_t consumed_samples);

// This rank's sample indices for the global batch that starts at `consumed_samples`.
std::vector<int64_t> rank_batch(const SampleOrder& order, const RankSlice& slice,
                                int64_t consumed_samples);

// Splits a rank's batch into contiguous micro-batches of `micro_batch_size` (gradient accumulation);
// the last may be shorter when the rank share is not a multiple.
std::vector<std::vector<int64_t>> split_micro_batches(const std::vector<int64_t>& rank_batch,
                                                      int64_t micro_batch_size);

// splitmix64 finaliser: the hash used for keys and per-sample random streams.
uint64_t mix64(uint64_t x);
// A well-mixed 64-bit value from (seed, a, b): e.g. a per-(epoch, sample) RNG seed.
uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b = 0);

}  // namespace gensar::data
