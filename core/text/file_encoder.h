// The "file" encoder: precomputed item vectors brought from elsewhere (BGE, an in-house encoder),
// keyed by item id. Accepted inputs:
//   - HDF5: a 2-D float dataset "embeddings" [items, dim] and item keys "item_keys" (a gensar
//     offsets+bytes group, a string dataset, or an integer dataset) in the same row order;
//   - .npy (2-D float32/float64) plus a text file with one item key per line, in row order.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/text/text_encoder.h"

namespace gensar::text {

struct KeyedEmbeddings {
  std::string source;  // the file, for messages
  std::vector<std::string> keys;
  torch::Tensor matrix;  // float32 [keys, dim]
};

// Dispatches on the extension (.npy -> npy + keys file; anything else -> HDF5). An empty keys_path
// for .npy means "<input without .npy>.keys.txt".
KeyedEmbeddings read_keyed_embeddings(const std::string& path, const std::string& keys_path = "");

struct FileEncoderOptions {
  std::string input;
  std::string keys;        // .npy only
  int64_t expected_dim = 0;  // 0: take the file's width
};

// encode() takes ITEM KEYS (not texts) and returns their rows. InputError naming the file and the
// item for: a missing item, a row with NaN/Inf or all zeros; also for a wrong width or duplicate keys.
class FileEncoder : public TextEncoder {
 public:
  explicit FileEncoder(const FileEncoderOptions& options);
  int64_t dim() const override { return table_.matrix.size(1); }
  std::string name() const override { return "file"; }
  torch::Tensor encode(const std::vector<std::string>& item_keys) override;

 private:
  KeyedEmbeddings table_;
  std::unordered_map<std::string, int64_t> row_of_;
};

}  // namespace gensar::text
