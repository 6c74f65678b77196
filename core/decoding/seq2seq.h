// What constrained beam search needs from an encoder-decoder model, and nothing more.
// The T5 model (core/model) implements it with KV-cached incremental decoding; tests implement it
// with small hand-made scorers.
#pragma once

#include <torch/types.h>

#include <memory>

namespace gensar::decoding {

// Opaque per-batch decoding state: encoder output, masks, KV caches. Rows are hypotheses.
struct DecodeState {
  virtual ~DecodeState() = default;
};

class Seq2SeqScorer {
 public:
  virtual ~Seq2SeqScorer() = default;

  // Encodes input_ids [B, S] (attention_mask [B, S], 1 = real token) into a state with B rows.
  virtual std::unique_ptr<DecodeState> start(const torch::Tensor& input_ids,
                                             const torch::Tensor& attention_mask) = 0;

  // Feeds one token per row (last_tokens [N], int64) and returns next-token log-probs [N, V]
  // (float). The first call for a state feeds decoder_start_token().
  virtual torch::Tensor step(DecodeState& state, const torch::Tensor& last_tokens) = 0;

  // Next-token scores of the given tokens only: [N, M] for columns [M] (int64), each row shifted by
  // some per-row constant. For callers that renormalise over a token subset themselves (the
  // catalogue normaliser of beam search): a model can then project onto M tokens instead of its
  // whole vocabulary and skip the softmax. Default: step()'s log-probs at those columns.
  virtual torch::Tensor step_columns(DecodeState& state, const torch::Tensor& last_tokens,
                                     const torch::Tensor& columns) {
    return step(state, last_tokens).index_select(1, columns);
  }

  // Rebuilds the rows: new row i is old row index[i] (index [N'], int64). Used to expand B rows into
  // B*beams and to follow beam selection; caches move with their rows.
  virtual void reorder(DecodeState& state, const torch::Tensor& index) = 0;

  virtual int64_t decoder_start_token() const = 0;
  virtual int64_t vocab_size() const = 0;
};

}  // namespace gensar::decoding
