// The embed-text stage: dataset items -> text_embeddings.h5 (see core/text/text_embeddings_file.h),
// with the encoder chosen by name (the encoders are core/text/). The verb (launch/verbs/embed_text.cpp)
// only parses options and calls this.
#pragma once

#include <cstdint>
#include <string>

#include "distributed/communicator.h"

namespace gensar::launch {

struct EmbedTextOptions {
  std::string dataset;          // ingested dataset directory
  std::string encoder = "use-lite";  // use-lite | tfidf-svd | file
  std::string out;              // default <dataset>/text_embeddings.h5
  int64_t batch_size = 64;      // use-lite texts per forward pass
  int64_t dim = 0;              // tfidf-svd: output width (0 -> 256); file: expected width (0 -> any)
  uint64_t seed = 42;           // tfidf-svd random projection
  std::string input;            // file: .h5 or .npy
  std::string input_keys;       // file: keys for a .npy (default <input>.keys.txt)
  std::string use_lite_dir;     // default: where scripts/setup-npm.sh installs it
};

struct EmbedTextResult {
  std::string out;
  std::string config_hash;
  int64_t items = 0;
  int64_t dim = 0;
  double encode_seconds = 0;
  bool skipped = false;  // output already up to date (same config hash)
};

// With a communicator of N > 1 ranks every rank must call it: use-lite splits its batches over the
// ranks and sums the shards (bit-identical to one rank); the other encoders run on every rank.
// Rank 0 writes the file. The input checks before the collectives are deterministic (the same files
// on a shared filesystem), so the ranks throw together or not at all; an encoder failure on one
// rank is agreed on before the sum, so no rank waits for one that has failed.
EmbedTextResult run_embed_text(const EmbedTextOptions& options, bool force = false,
                               dist::Communicator* comm = nullptr);

}  // namespace gensar::launch
