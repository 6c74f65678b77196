// Item embedding tables as the RQ-VAE reads them (files in the one embeddings format,
// core/common/embeddings_file.h; see docs/identifiers.md) and how two of them are aligned.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gensar::rqvae {

struct EmbeddingTable {
  std::string path;  // where it came from, for error messages
  std::vector<std::string> keys;
  int64_t dim = 0;
  std::vector<float> values;  // row-major [keys.size() x dim]
  int64_t rows() const { return static_cast<int64_t>(keys.size()); }
  const float* row(int64_t i) const { return values.data() + i * dim; }
};

// Reads and validates (2-D, one row per key, no duplicate keys, no NaN/inf rows): InputError
// naming the file and the item otherwise.
EmbeddingTable read_embedding_table(const std::string& path);
void write_embedding_table(const std::string& path, const EmbeddingTable& table);

// Reorders `collab` to the row order of `text` by item key; an item present in only one file is an
// InputError naming the file that lacks it and the item.
EmbeddingTable align_to(const EmbeddingTable& text, const EmbeddingTable& collab);

// FNV-1a 64-bit over keys and values: identifies the inputs an identifiers file was made from.
uint64_t fingerprint(const EmbeddingTable& table, uint64_t seed = 1469598103934665603ull);

}  // namespace gensar::rqvae
