#include "core/model/t5_scorer.h"

#include "core/common/check.h"

namespace gensar::model {
namespace {
T5DecodeState& as_t5(decoding::DecodeState& state) {
  auto* t5 = dynamic_cast<T5DecodeState*>(&state);
  GENSAR_CHECK(t5 != nullptr, "decode state was not made by T5Scorer::start");
  return *t5;
}
}  // namespace

std::unique_ptr<decoding::DecodeState> T5Scorer::start(const torch::Tensor& input_ids,
                                                       const torch::Tensor& attention_mask) {
  return model_->start_decoding(input_ids, attention_mask);
}

torch::Tensor T5Scorer::step(decoding::DecodeState& state, const torch::Tensor& last_tokens) {
  return model_->decode_step(as_t5(state), last_tokens);
}

torch::Tensor T5Scorer::step_columns(decoding::DecodeState& state, const torch::Tensor& last_tokens,
                                     const torch::Tensor& columns) {
  return model_->decode_step_columns(as_t5(state), last_tokens, columns);
}

void T5Scorer::reorder(decoding::DecodeState& state, const torch::Tensor& index) {
  model_->reorder(as_t5(state), index);
}

int64_t T5Scorer::decoder_start_token() const { return model_->config().decoder_start_token_id; }
int64_t T5Scorer::vocab_size() const { return model_->config().vocab_size; }

}  // namespace gensar::model
