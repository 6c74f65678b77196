// Tiny T5 configurations and inputs shared by the model tests (fast on one core).
#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "core/model/t5_config.h"

namespace gensar::testing {

inline model::T5Config tiny_config(model::FeedForward ff = model::FeedForward::kRelu,
                                   bool tied = true, double dropout = 0.0) {
  model::T5Config c;
  c.vocab_size = 40;
  c.d_model = 16;
  c.d_kv = 4;
  c.num_heads = 4;
  c.d_ff = 32;
  c.num_encoder_layers = 2;
  c.num_decoder_layers = 2;
  c.relative_attention_num_buckets = 8;
  c.relative_attention_max_distance = 16;
  c.dropout_rate = dropout;
  c.feed_forward = ff;
  c.tie_word_embeddings = tied;
  return c;
}

struct TinyBatch {
  torch::Tensor input_ids, attention_mask, decoder_input_ids, labels;
};

// Rows of different lengths (padding at the end), labels shifted from decoder inputs, one
// ignored label position.
// Draws from its own generator: the TP tests build a batch on every rank thread at once, and the
// global generator (torch::manual_seed) shared between them gave the ranks different batches when
// their draws interleaved.
inline TinyBatch tiny_batch(int64_t vocab, uint64_t seed = 7) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  TinyBatch b;
  const int64_t B = 3, S = 7, T = 5;
  b.input_ids = torch::randint(2, vocab, {B, S}, gen, torch::kLong);
  b.attention_mask = torch::ones({B, S}, torch::kLong);
  b.attention_mask.index_put_({1, torch::indexing::Slice(5, torch::indexing::None)}, 0);
  b.attention_mask.index_put_({2, torch::indexing::Slice(3, torch::indexing::None)}, 0);
  b.input_ids.masked_fill_(b.attention_mask == 0, 0);
  b.labels = torch::randint(2, vocab, {B, T}, gen, torch::kLong);
  b.labels.index_put_({2, 4}, -100);
  b.decoder_input_ids = torch::zeros({B, T}, torch::kLong);
  b.decoder_input_ids.index_put_({torch::indexing::Slice(), torch::indexing::Slice(1, T)},
                                 b.labels.index({torch::indexing::Slice(), torch::indexing::Slice(0, T - 1)}).clamp_min(0));
  return b;
}

}  // namespace gensar::testing
