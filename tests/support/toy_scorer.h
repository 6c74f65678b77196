// A small deterministic Seq2SeqScorer for tests and benchmarks: no training, fixed random weights
// from a seed. Its per-row recurrent state plays the role of a KV cache, so a wrong reorder changes
// the scores (the tests compare beam search against teacher forcing through the same scorer).
#pragma once

#include <torch/types.h>

#include "core/decoding/seq2seq.h"

namespace gensar::decoding {

class ToyScorer : public Seq2SeqScorer {
 public:
  // gain scales the logits: larger = peakier next-token distributions.
  ToyScorer(int64_t vocab_size, int64_t hidden, uint64_t seed, double gain = 3.0,
            int64_t max_steps = 64);

  std::unique_ptr<DecodeState> start(const torch::Tensor& input_ids,
                                     const torch::Tensor& attention_mask) override;
  torch::Tensor step(DecodeState& state, const torch::Tensor& last_tokens) override;
  void reorder(DecodeState& state, const torch::Tensor& index) override;
  int64_t decoder_start_token() const override { return 0; }
  int64_t vocab_size() const override { return vocab_size_; }

  int64_t steps_taken = 0;  // step() calls, for tests

 private:
  int64_t vocab_size_;
  torch::Tensor input_embedding_;   // [V, H]
  torch::Tensor context_proj_;      // [H, H]
  torch::Tensor token_embedding_;   // [V, H]
  torch::Tensor position_embedding_;  // [max_steps, H]
  torch::Tensor output_;            // [H, V]
};

}  // namespace gensar::decoding
