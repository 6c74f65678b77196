#include "core/rqvae/embedding_table.h"

#include <cmath>
#include <unordered_map>

#include "core/common/check.h"
#include "core/rqvae/h5_file.h"

namespace gensar::rqvae {
namespace {

std::vector<std::string> read_keys(const H5File& f) {
  for (const char* name : {"item_keys", "keys", "item_ids"}) {
    if (!f.has(name)) continue;
    if (f.is_string(name)) return f.read_strings(name);
    GENSAR_INPUT_CHECK(f.is_integer(name), "{}: '{}' must hold strings or integers", f.path(), name);
    H5Array<int64_t> ints = f.read_i64(name);
    GENSAR_INPUT_CHECK(ints.dims.size() == 1, "{}: '{}' must be one-dimensional", f.path(), name);
    std::vector<std::string> keys;
    keys.reserve(ints.values.size());
    for (int64_t v : ints.values) keys.push_back(std::to_string(v));
    return keys;
  }
  GENSAR_INPUT_CHECK(false, "{}: no item key dataset (expected /item_keys)", f.path());
  return {};
}

}  // namespace

EmbeddingTable read_embedding_table(const std::string& path) {
  H5File f(path, H5File::Mode::kRead);
  EmbeddingTable t;
  t.path = path;
  t.keys = read_keys(f);
  GENSAR_INPUT_CHECK(f.has("embeddings"), "{}: no /embeddings dataset", path);
  H5Array<float> m = f.read_f32("embeddings");
  GENSAR_INPUT_CHECK(m.dims.size() == 2, "{}: /embeddings must be 2-D [items, dim], has {} dimensions",
                     path, m.dims.size());
  GENSAR_INPUT_CHECK(m.dims[0] == t.keys.size(), "{}: /embeddings has {} rows but there are {} item keys",
                     path, m.dims[0], t.keys.size());
  GENSAR_INPUT_CHECK(m.dims[1] > 0, "{}: /embeddings has zero columns", path);
  t.dim = static_cast<int64_t>(m.dims[1]);
  t.values = std::move(m.values);
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
  H5File f(path, H5File::Mode::kCreate);
  f.write_strings("item_keys", table.keys);
  f.write_f32("embeddings", table.values.data(),
              {static_cast<uint64_t>(table.rows()), static_cast<uint64_t>(table.dim)});
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
