#include "core/text/file_encoder.h"

#include <torch/torch.h>

#include <unordered_map>

#include "core/common/check.h"
#include "core/common/embeddings_file.h"
#include "core/common/log.h"
#include "core/common/strings.h"
#include "core/text/npy.h"
#include "core/text/text_embeddings_file.h"

namespace gensar::text {

KeyedEmbeddings read_keyed_embeddings(const std::string& path, const std::string& keys_path) {
  KeyedEmbeddings out;
  out.source = path;
  std::string keys_source;
  if (ends_with(path, ".npy")) {
    keys_source = keys_path.empty() ? path.substr(0, path.size() - 4) + ".keys.txt" : keys_path;
    out.matrix = read_npy_matrix(path);
    out.keys = read_key_lines(keys_source);
  } else {
    EmbeddingsFile file = read_embeddings_file(path);
    keys_source = path + ":item_keys";
    out.matrix = to_matrix(file);
    out.keys = std::move(file.keys);
  }
  GENSAR_INPUT_CHECK(static_cast<int64_t>(out.keys.size()) == out.matrix.size(0),
                     "{}: {} item keys in {} but {} embedding rows", path, out.keys.size(), keys_source,
                     out.matrix.size(0));
  return out;
}

FileEncoder::FileEncoder(const FileEncoderOptions& options) : table_(read_keyed_embeddings(options.input, options.keys)) {
  const std::string& src = table_.source;
  GENSAR_INPUT_CHECK(table_.matrix.size(1) > 0, "{}: embeddings have width 0", src);
  GENSAR_INPUT_CHECK(options.expected_dim <= 0 || table_.matrix.size(1) == options.expected_dim,
                     "{}: embeddings have dim {}, but --dim {} was asked for", src, table_.matrix.size(1),
                     options.expected_dim);
  for (size_t i = 0; i < table_.keys.size(); ++i) {
    auto [it, inserted] = row_of_.emplace(table_.keys[i], static_cast<int64_t>(i));
    GENSAR_INPUT_CHECK(inserted, "{}: item '{}' appears twice (rows {} and {})", src, table_.keys[i], it->second, i);
  }
}

torch::Tensor FileEncoder::encode(const std::vector<std::string>& item_keys) {
  const std::string& src = table_.source;
  std::vector<int64_t> rows;
  rows.reserve(item_keys.size());
  for (const auto& key : item_keys) {
    auto it = row_of_.find(key);
    GENSAR_INPUT_CHECK(it != row_of_.end(),
                       "{}: no embedding for item '{}' (the file has {} rows; every dataset item needs one)", src,
                       key, table_.keys.size());
    rows.push_back(it->second);
  }
  torch::Tensor out = table_.matrix.index_select(0, torch::tensor(rows, torch::kLong));
  torch::Tensor finite = torch::isfinite(out).all(1);
  torch::Tensor nonzero = out.abs().sum(1) > 0;
  auto finite_a = finite.accessor<bool, 1>();
  auto nonzero_a = nonzero.accessor<bool, 1>();
  for (int64_t i = 0; i < out.size(0); ++i) {
    GENSAR_INPUT_CHECK(finite_a[i], "{}: the embedding of item '{}' (row {}) contains NaN or Inf", src,
                       item_keys[i], rows[i]);
    GENSAR_INPUT_CHECK(nonzero_a[i], "{}: the embedding of item '{}' (row {}) is all zeros", src, item_keys[i],
                       rows[i]);
  }
  if (table_.keys.size() > item_keys.size())
    GENSAR_INFO("text", "{}: {} rows, {} used by this dataset", src, table_.keys.size(), item_keys.size());
  return out;
}

}  // namespace gensar::text
