#include "core/rqvae/embedding_table.h"

#include <cmath>
#include <unordered_map>

#include "core/common/check.h"
#include "core/common/embeddings_file.h"

namespace gensar::rqvae {

EmbeddingTable read_embedding_table(const std::string& path) {
  EmbeddingsFile file = read_embeddings_file(path);
  EmbeddingTable t;
  t.path = path;
  t.keys = std::move(file.keys);
  t.dim = file.dim;
  t.values = std::move(file.values);
  GENSAR_INPUT_CHECK(t.dim > 0, "{}: /embeddings has zero columns", path);
  std::unordered_map<std::string, int64_t> seen;
  for (int64_t i = 0; i < t.rows(); ++i) {
    auto [it, fresh] = seen.emplace(t.keys[i], i);
    GENSAR_INPUT_CHECK(fresh, "{}: item '{}' appears twice (rows {} and {})", path, t.keys[i],
                       it->second, i);
    const float* r = t.row(i);
    for (int64_t j = 0; j < t.dim; ++j) {
      GENSAR_INPUT_CHECK(std::isfinite(r[j]), "{}: item '{}' (row {}) has a non-finite value at column {}",
                         path, t.keys[i], i, j);
    }
  }
  return t;
}

void write_embedding_table(const std::string& path, const EmbeddingTable& table) {
  GENSAR_CHECK(table.values.size() == static_cast<size_t>(table.rows() * table.dim),
               "embedding table has {} values for {} x {}", table.values.size(), table.rows(), table.dim);
  write_embeddings_file(path, EmbeddingsFile{table.keys, table.dim, table.values, {}});
}

EmbeddingTable align_to(const EmbeddingTable& text, const EmbeddingTable& collab) {
  std::unordered_map<std::string, int64_t> index;
  index.reserve(collab.keys.size());
  for (int64_t i = 0; i < collab.rows(); ++i) index.emplace(collab.keys[i], i);
  EmbeddingTable out;
  out.path = collab.path;
  out.keys = text.keys;
  out.dim = collab.dim;
  out.values.resize(static_cast<size_t>(text.rows() * collab.dim));
  for (int64_t i = 0; i < text.rows(); ++i) {
    auto it = index.find(text.keys[i]);
    GENSAR_INPUT_CHECK(it != index.end(), "{}: item '{}' (present in {}) is missing", collab.path,
                       text.keys[i], text.path);
    std::copy(collab.row(it->second), collab.row(it->second) + collab.dim,
              out.values.begin() + i * collab.dim);
  }
  if (collab.rows() != text.rows()) {
    std::unordered_map<std::string, int64_t> text_index;
    for (int64_t i = 0; i < text.rows(); ++i) text_index.emplace(text.keys[i], i);
    for (const auto& k : collab.keys) {
      GENSAR_INPUT_CHECK(text_index.count(k), "{}: item '{}' (present in {}) is missing", text.path, k,
                         collab.path);
    }
  }
  return out;
}

uint64_t fingerprint(const EmbeddingTable& table, uint64_t seed) {
  uint64_t h = seed;
  auto mix = [&h](const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) {
      h ^= p[i];
      h *= 1099511628211ull;
    }
  };
  for (const auto& k : table.keys) mix(k.data(), k.size() + 1);
  mix(table.values.data(), table.values.size() * sizeof(float));
  return h;
}

}  // namespace gensar::rqvae
