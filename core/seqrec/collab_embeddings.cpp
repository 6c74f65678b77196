#include "core/seqrec/collab_embeddings.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <unordered_map>

#include "core/common/check.h"
#include "core/common/embeddings_file.h"
#include "core/common/log.h"
#include "core/common/strings.h"
#include "core/text/npy.h"
#include "data_pipeline/dataset.h"

namespace gensar::seqrec {
void write_item_embeddings(const std::string& path, const ItemEmbeddings& table) {
  write_embeddings_file(path, EmbeddingsFile{table.keys,
                                             table.dim,
                                             table.values,
                                             {{"config_hash", table.config_hash}, {"source", table.source}}});
}

ItemEmbeddings read_item_embeddings(const std::string& path) {
  EmbeddingsFile file = read_embeddings_file(path);
  ItemEmbeddings t;
  t.keys = std::move(file.keys);
  t.dim = file.dim;
  t.values = std::move(file.values);
  t.config_hash = file.attribute("config_hash");
  t.source = file.attribute("source");
  return t;
}

ItemEmbeddings import_item_embeddings(const std::string& input, const std::string& keys_path,
                                      const std::vector<std::string>& catalogue) {
  ItemEmbeddings raw;
  if (ends_with(input, ".npy")) {
    GENSAR_INPUT_CHECK(!keys_path.empty(), "{}: a .npy import needs --input-keys (one key per line)", input);
    const torch::Tensor m = text::read_npy_matrix(input).contiguous();
    const int64_t rows = m.size(0);
    raw.dim = m.size(1);
    raw.values.assign(m.data_ptr<float>(), m.data_ptr<float>() + m.numel());
    raw.keys = read_key_lines(keys_path);
    GENSAR_INPUT_CHECK(static_cast<int64_t>(raw.keys.size()) == rows,
                       "{}: {} rows but {} has {} keys", input, rows, keys_path, raw.keys.size());
  } else {
    GENSAR_INPUT_CHECK(ends_with(input, ".h5") || ends_with(input, ".hdf5"),
                       "{}: unknown embedding file type (expected .h5, .hdf5 or .npy)", input);
    raw = read_item_embeddings(input);
    if (!keys_path.empty()) {
      std::vector<std::string> keys = read_key_lines(keys_path);
      GENSAR_INPUT_CHECK(keys.size() == raw.keys.size(), "{}: {} rows but {} has {} keys", input,
                         raw.keys.size(), keys_path, keys.size());
      raw.keys = std::move(keys);
    }
  }
  GENSAR_INPUT_CHECK(raw.rows() > 0 && raw.dim > 0, "{}: empty embedding matrix ({} x {})", input,
                     raw.rows(), raw.dim);
  std::unordered_map<std::string, int64_t> row_of;
  for (int64_t i = 0; i < raw.rows(); ++i) {
    auto [it, fresh] = row_of.emplace(raw.keys[i], i);
    GENSAR_INPUT_CHECK(fresh, "{}: item '{}' appears twice (rows {} and {})", input, raw.keys[i],
                       it->second, i);
    const float* r = raw.values.data() + i * raw.dim;
    for (int64_t j = 0; j < raw.dim; ++j)
      GENSAR_INPUT_CHECK(std::isfinite(r[j]), "{}: item '{}' (row {}) has a non-finite value at column {}",
                         input, raw.keys[i], i, j);
  }
  ItemEmbeddings out;
  out.dim = raw.dim;
  out.keys = catalogue;
  out.values.resize(catalogue.size() * static_cast<size_t>(raw.dim));
  out.source = "file:" + input;
  int64_t missing = 0;
  std::string first_missing;
  for (size_t i = 0; i < catalogue.size(); ++i) {
    auto it = row_of.find(catalogue[i]);
    if (it == row_of.end()) {
      if (missing++ == 0) first_missing = catalogue[i];
      continue;
    }
    std::copy_n(raw.values.data() + it->second * raw.dim, raw.dim, out.values.data() + i * raw.dim);
  }
  GENSAR_INPUT_CHECK(missing == 0, "{}: {} of the dataset's {} items have no embedding (first: '{}')",
                     input, missing, catalogue.size(), first_missing);
  if (raw.rows() > static_cast<int64_t>(catalogue.size()))
    GENSAR_WARN("seqrec", "{}: {} rows for items not in the dataset were ignored", input,
                raw.rows() - static_cast<int64_t>(catalogue.size()));
  return out;
}

ItemEmbeddings import_item_embeddings(const std::string& input, const std::string& keys_path,
                                      const data::Dataset& dataset) {
  std::vector<std::string> catalogue;
  catalogue.reserve(static_cast<size_t>(dataset.num_items()));
  for (int32_t i = 0; i < dataset.num_items(); ++i) catalogue.emplace_back(dataset.item_key(i));
  return import_item_embeddings(input, keys_path, catalogue);
}

}  // namespace gensar::seqrec
