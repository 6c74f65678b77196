// collab_embeddings.h5: the output of `embed-collab` (and the input of `index`).
//
// The one embeddings format (core/common/embeddings_file.h; docs/sasrec.md), rows in dense item
// order, with root attributes config_hash and source ("sasrec" or "file:<path>").
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

// `--mode file`: reads `input` (.h5/.hdf5, or .npy with `keys_path`), then checks it against the
// dataset's catalogue and reorders rows to dense item order. Errors (all InputError, naming the file):
// a missing dataset item, a duplicate key, a non-finite value (row and column named), a row count
// that does not match the keys, an empty matrix. Keys unknown to the dataset are dropped with a warning.
ItemEmbeddings import_item_embeddings(const std::string& input, const std::string& keys_path,
                                      const std::vector<std::string>& catalogue);
ItemEmbeddings import_item_embeddings(const std::string& input, const std::string& keys_path,
                                      const data::Dataset& dataset);

}  // namespace gensar::seqrec
