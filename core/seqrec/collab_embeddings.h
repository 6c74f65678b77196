// collab_embeddings.h5: the output of `embed-collab` (and the input of `index`).
//
// Layout (the same as embed-text's, so `index` reads both with one reader; see docs/sasrec.md):
//   /item_keys    1-D variable-length UTF-8 strings, the dataset's item keys in dense item order
//   /embeddings   float32 [items, dim], row i belongs to item_keys[i]
//   attributes on the root: config_hash (string), source (string: "sasrec" or "file:<path>")
// Imports (`--mode file`) accept the same HDF5 layout (keys as strings or integers, values float32
// or float64) or a .npy matrix (float32/float64, C order) with a keys text file (one key per line).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gensar::data {
class Dataset;
}

namespace gensar::seqrec {

struct ItemEmbeddings {
  std::vector<std::string> keys;
  int64_t dim = 0;
  std::vector<float> values;  // row-major [keys.size(), dim]
  std::string config_hash;
  std::string source;
  int64_t rows() const { return static_cast<int64_t>(keys.size()); }
};

void write_item_embeddings(const std::string& path, const ItemEmbeddings& table);
// Reads the HDF5 layout above; InputError naming the file and dataset on anything malformed.
ItemEmbeddings read_item_embeddings(const std::string& path);

// Reads a .npy file (2-D, float32 or float64 little-endian, C order) into values + dim; rows are
// returned through `rows`.
std::vector<float> read_npy_matrix(const std::string& path, int64_t* rows, int64_t* dim);
// One key per line (trailing whitespace stripped, empty lines are errors).
std::vector<std::string> read_key_lines(const std::string& path);

// `--mode file`: reads `input` (.h5/.hdf5, or .npy with `keys_path`), then checks it against the
// dataset's catalogue and reorders rows to dense item order. Errors (all InputError, naming the file):
// a missing dataset item, a duplicate key, a non-finite value (row and column named), a row count
// that does not match the keys, an empty matrix. Keys unknown to the dataset are dropped with a warning.
ItemEmbeddings import_item_embeddings(const std::string& input, const std::string& keys_path,
                                      const std::vector<std::string>& catalogue);
ItemEmbeddings import_item_embeddings(const std::string& input, const std::string& keys_path,
                                      const data::Dataset& dataset);

}  // namespace gensar::seqrec
