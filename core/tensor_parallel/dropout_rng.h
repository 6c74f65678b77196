// Dropout random streams for data x tensor parallelism (Megatron's RNG tracker, simplified).
//
// replicated(): identical on every TP rank of one DP replica, different across DP replicas. Used
//   for dropout on replicated activations (embeddings, residual branches, final norm), which must
//   agree across TP ranks, and, by default, for dropout inside TP regions too: there the mask is
//   drawn for the full unsharded tensor and each rank keeps its slice, so a TP=k run draws exactly
//   the masks of a TP=1 run (training does not depend on the TP size).
// sharded(): additionally different per TP rank (Megatron's model-parallel stream). With
//   `full_masks_in_tp_regions = false`, dropout on sharded activations (attention probabilities of
//   this rank's heads, this rank's FFN hidden units) draws only the local mask from this stream:
//   cheaper, statistically equivalent, but the trajectory then depends on the TP size.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>

namespace gensar::tp {

class DropoutRng {
 public:
  DropoutRng(uint64_t seed = 0, int dp_rank = 0, int tp_rank = 0);
  void reseed(uint64_t seed, int dp_rank, int tp_rank);

  at::Generator& replicated() { return replicated_; }
  at::Generator& sharded() { return sharded_; }

  bool full_masks_in_tp_regions = true;

  // Both stream states, for checkpoints: [2, n] uint8 (row 0 replicated, row 1 sharded).
  torch::Tensor state() const;
  void set_state(const torch::Tensor& state);

 private:
  at::Generator replicated_;
  at::Generator sharded_;
};

// The mask of one dropout call as a function of the element index: the generator gives one 64-bit
// key per mask, and element i keeps its value (times `scale`) when its 16-bit lane of the
// counter-based hash mix(key ^ (i / 4) * K) is below `threshold`. The keep probability is
// quantised to 1/65536 and the scale is its exact inverse, so E[mask] = 1. Fused kernels
// (fused_dropout.h) compute the mask where they use it instead of storing it.
struct KeepMask {
  uint64_t key = 0;
  uint32_t threshold = 65536;
  float scale = 1.0f;
  static KeepMask draw(double p, at::Generator& gen);  // takes one key from `gen`
  // mask[i] for begin <= i < end, written to out[0 .. end - begin).
  void fill(int64_t begin, int64_t end, float* out) const;
};

// The generator whose mask covers exactly this rank's tensor: the replicated stream without TP, the
// sharded stream when TP regions draw local masks; null when the mask is drawn for the full tensor
// and sliced (sharded_dropout then narrows it).
at::Generator* local_mask_generator(DropoutRng& rng, int tp_size);

// Inverted dropout on a replicated activation (mask over the whole tensor, replicated stream).
torch::Tensor replicated_dropout(const torch::Tensor& x, double p, bool train, DropoutRng& rng);

// Dropout on a TP-sharded activation: `x` is this rank's slice of `dim` of the full tensor.
torch::Tensor sharded_dropout(const torch::Tensor& x, double p, bool train, DropoutRng& rng,
                              int64_t dim, int tp_rank, int tp_size);

}  // namespace gensar::tp
