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

// Inverted dropout on a replicated activation (mask over the whole tensor, replicated stream).
torch::Tensor replicated_dropout(const torch::Tensor& x, double p, bool train, DropoutRng& rng);

// Dropout on a TP-sharded activation: `x` is this rank's slice of `dim` of the full tensor.
torch::Tensor sharded_dropout(const torch::Tensor& x, double p, bool train, DropoutRng& rng,
                              int64_t dim, int tp_rank, int tp_size);

}  // namespace gensar::tp
