// The one item-embedding file format: text embeddings (embed-text), collaborative embeddings
// (embed-collab) and vectors imported from other tools all read and write through here.
//
//   /item_keys   1-D variable-length UTF-8 strings, one per row. Readers also accept integer keys
//                (printed in decimal), a gensar offsets+bytes group, or the names /keys and
//                /item_ids that other tools use.
//   /embeddings  float32 [items, dim]; readers also accept float64.
//   string attributes on the root saying what wrote the file (schema, encoder, config_hash, ...).
//
// Imports from NumPy come as a .npy matrix plus a keys file, one key per line (read_key_lines).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gensar {

struct EmbeddingsFile {
  std::vector<std::string> keys;
  int64_t dim = 0;
  std::vector<float> values;  // row-major [keys.size(), dim]
  std::map<std::string, std::string> attributes;
  int64_t rows() const { return static_cast<int64_t>(keys.size()); }
  std::string attribute(const std::string& name) const;  // "" if absent
};

// Atomic (replace_file_atomically): a crash or a full disk never leaves a half-written file.
void write_embeddings_file(const std::string& path, const EmbeddingsFile& file);
// InputError naming the file and the dataset when a dataset is missing, not 2-D, or the row
// count differs from the key count.
EmbeddingsFile read_embeddings_file(const std::string& path);

// One key per line, trailing whitespace stripped; trailing blank lines are the file's end, a blank
// line before a key is an InputError naming file and line.
std::vector<std::string> read_key_lines(const std::string& path);

}  // namespace gensar
