// The T5 model as a Seq2SeqScorer for constrained beam search (KV-cached incremental decoding).
#pragma once

#include <memory>

#include "core/decoding/seq2seq.h"
#include "core/model/t5_model.h"

namespace gensar::model {

class T5Scorer : public decoding::Seq2SeqScorer {
 public:
  explicit T5Scorer(T5Model model) : model_(std::move(model)) {}

  std::unique_ptr<decoding::DecodeState> start(const torch::Tensor& input_ids,
                                               const torch::Tensor& attention_mask) override;
  torch::Tensor step(decoding::DecodeState& state, const torch::Tensor& last_tokens) override;
  torch::Tensor step_columns(decoding::DecodeState& state, const torch::Tensor& last_tokens,
                             const torch::Tensor& columns) override;
  void reorder(decoding::DecodeState& state, const torch::Tensor& index) override;
  int64_t decoder_start_token() const override;
  int64_t vocab_size() const override;

 private:
  T5Model model_;
};

}  // namespace gensar::model
