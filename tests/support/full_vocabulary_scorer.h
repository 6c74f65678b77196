// A scorer that forwards everything to another but hides its step_columns override, so beam search
// scores through the default path (the whole vocabulary's log-probs, then the columns). The
// reference for tests that a scorer's step_columns changes nothing, and the "before" side of
// bench_eval's catalogue-softmax rows.
#pragma once

#include <memory>

#include "core/decoding/seq2seq.h"

namespace gensar::decoding {

class FullVocabularyScorer : public Seq2SeqScorer {
 public:
  explicit FullVocabularyScorer(Seq2SeqScorer& inner) : inner_(inner) {}
  std::unique_ptr<DecodeState> start(const torch::Tensor& ids, const torch::Tensor& mask) override {
    return inner_.start(ids, mask);
  }
  torch::Tensor step(DecodeState& state, const torch::Tensor& last) override { return inner_.step(state, last); }
  void reorder(DecodeState& state, const torch::Tensor& index) override { inner_.reorder(state, index); }
  int64_t decoder_start_token() const override { return inner_.decoder_start_token(); }
  int64_t vocab_size() const override { return inner_.vocab_size(); }

 private:
  Seq2SeqScorer& inner_;
};

}  // namespace gensar::decoding
