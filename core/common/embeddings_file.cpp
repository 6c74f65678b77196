#include "core/common/embeddings_file.h"

#include <fstream>

#include "core/common/atomic_file.h"
#include "core/common/check.h"
#include "core/common/h5.h"
#include "core/common/strings.h"

namespace gensar {

std::string EmbeddingsFile::attribute(const std::string& name) const {
  auto it = attributes.find(name);
  return it == attributes.end() ? "" : it->second;
}

void write_embeddings_file(const std::string& path, const EmbeddingsFile& e) {
  GENSAR_CHECK(e.values.size() == static_cast<size_t>(e.rows() * e.dim), "{}: {} values for {} x {} embeddings",
               path, e.values.size(), e.rows(), e.dim);
  replace_file_atomically(path, [&](const std::string& temp) {
    h5::File file = h5::File::create(temp);
    file.write_strings("item_keys", e.keys);
    file.write("embeddings", e.values.data(), {static_cast<uint64_t>(e.rows()), static_cast<uint64_t>(e.dim)});
    for (const auto& [name, value] : e.attributes) file.write_attr(name, value);
  });
}

EmbeddingsFile read_embeddings_file(const std::string& path) {
  const h5::File file = h5::File::open(path);
  EmbeddingsFile e;
  const char* keys_name = nullptr;
  for (const char* name : {"item_keys", "keys", "item_ids"}) {
    if (file.exists(name)) {
      keys_name = name;
      break;
    }
  }
  GENSAR_INPUT_CHECK(keys_name, "{}: no /item_keys dataset (expected 1-D strings or integers)", path);
  e.keys = file.read_keys(keys_name);
  GENSAR_INPUT_CHECK(file.exists("embeddings"), "{}: no /embeddings dataset (expected float [items, dim])", path);
  GENSAR_INPUT_CHECK(!file.is_integer("embeddings"), "{}: /embeddings must hold floats", path);
  h5::Array<float> m = file.read_array<float>("embeddings");
  GENSAR_INPUT_CHECK(m.dims.size() == 2, "{}: /embeddings must be 2-D [items, dim], has {} dimensions", path,
                     m.dims.size());
  GENSAR_INPUT_CHECK(m.dims[0] == e.keys.size(), "{}: /embeddings has {} rows but /{} has {} keys", path,
                     m.dims[0], keys_name, e.keys.size());
  e.dim = static_cast<int64_t>(m.dims[1]);
  e.values = std::move(m.values);
  e.attributes = file.string_attrs();
  return e;
}

std::vector<std::string> read_key_lines(const std::string& path) {
  std::ifstream in(path);
  GENSAR_INPUT_CHECK(in.good(), "{}: cannot open the item keys file", path);
  std::vector<std::string> keys;
  int blank_line = 0;  // the first blank line not yet followed only by blank lines
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    std::string key = trim(line, kWhitespace);
    if (key.empty()) {
      if (blank_line == 0) blank_line = number;
      continue;
    }
    GENSAR_INPUT_CHECK(blank_line == 0, "{}:{}: empty item key", path, blank_line);
    keys.push_back(std::move(key));
  }
  return keys;
}

}  // namespace gensar
