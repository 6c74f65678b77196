#include "tests/support/toy_scorer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>

#include "core/common/check.h"

namespace gensar::decoding {
namespace {

struct ToyState : DecodeState {
  torch::Tensor context;  // [N, H], fixed per case
  torch::Tensor hidden;   // [N, H], the "cache": depends on every token fed so far
  int64_t position = 0;
};

ToyState& as_toy(DecodeState& state) {
  auto* toy = dynamic_cast<ToyState*>(&state);
  GENSAR_CHECK(toy != nullptr, "ToyScorer got a state it did not create");
  return *toy;
}

}  // namespace

ToyScorer::ToyScorer(int64_t vocab_size, int64_t hidden, uint64_t seed, double gain,
                     int64_t max_steps)
    : vocab_size_(vocab_size) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  const double s = 1.0 / std::sqrt(static_cast<double>(hidden));
  input_embedding_ = torch::randn({vocab_size, hidden}, gen, torch::kFloat);
  context_proj_ = torch::randn({hidden, hidden}, gen, torch::kFloat) * s;
  token_embedding_ = torch::randn({vocab_size, hidden}, gen, torch::kFloat);
  position_embedding_ = torch::randn({max_steps, hidden}, gen, torch::kFloat);
  output_ = torch::randn({hidden, vocab_size}, gen, torch::kFloat) * (s * gain);
}

std::unique_ptr<DecodeState> ToyScorer::start(const torch::Tensor& input_ids,
                                              const torch::Tensor& attention_mask) {
  auto state = std::make_unique<ToyState>();
  torch::Tensor mask = attention_mask.to(torch::kFloat).unsqueeze(2);           // [B, S, 1]
  torch::Tensor emb = input_embedding_.index_select(0, input_ids.reshape(-1))
                          .view({input_ids.size(0), input_ids.size(1), -1});  // [B, S, H]
  torch::Tensor mean = (emb * mask).sum(1) / mask.sum(1).clamp_min(1.0);
  state->context = torch::tanh(mean.matmul(context_proj_));
  state->hidden = torch::zeros_like(state->context);
  return state;
}

torch::Tensor ToyScorer::step(DecodeState& state, const torch::Tensor& last_tokens) {
  ToyState& s = as_toy(state);
  GENSAR_CHECK(s.position < position_embedding_.size(0), "ToyScorer ran past {} steps",
               position_embedding_.size(0));
  ++steps_taken;
  torch::Tensor x = token_embedding_.index_select(0, last_tokens.to(torch::kLong)) +
                    position_embedding_[s.position] + s.context + 0.5 * s.hidden;
  s.hidden = torch::tanh(x);
  ++s.position;
  return torch::log_softmax(s.hidden.matmul(output_), 1);
}

void ToyScorer::reorder(DecodeState& state, const torch::Tensor& index) {
  ToyState& s = as_toy(state);
  s.context = s.context.index_select(0, index);
  s.hidden = s.hidden.index_select(0, index);
}

}  // namespace gensar::decoding
