#include "core/rqvae/identifiers.h"

#include <fmt/format.h>

#include <map>
#include <set>

#include "core/common/check.h"
#include "core/common/h5.h"

namespace gensar::rqvae {
namespace {

std::vector<std::string> tokens_of(const std::vector<IdentifierLevel>& levels,
                                   const std::vector<int32_t>& ids, size_t item) {
  std::vector<std::string> out;
  out.reserve(levels.size());
  for (size_t l = 0; l < levels.size(); ++l)
    out.push_back(code_token(levels[l].prefix, ids[item * levels.size() + l]));
  return out;
}

void write_levels(h5::File& f, const std::string& name, const std::vector<IdentifierLevel>& levels) {
  std::vector<std::string> prefixes;
  std::vector<int32_t> codes, shared;
  for (const auto& l : levels) {
    prefixes.push_back(l.prefix);
    codes.push_back(l.codes);
    shared.push_back(l.shared ? 1 : 0);
  }
  f.write_strings(name + "_level_prefix", prefixes);
  f.write(name + "_level_codes", codes);
  f.write(name + "_level_shared", shared);
}

std::vector<IdentifierLevel> read_levels(const h5::File& f, const std::string& name) {
  std::vector<std::string> prefixes = f.read_strings(name + "_level_prefix");
  h5::Array<int32_t> codes = f.read_array<int32_t>(name + "_level_codes");
  h5::Array<int32_t> shared = f.read_array<int32_t>(name + "_level_shared");
  GENSAR_INPUT_CHECK(codes.values.size() == prefixes.size() && shared.values.size() == prefixes.size(),
                     "{}: {} level tables disagree in length", f.path(), name);
  std::vector<IdentifierLevel> levels;
  for (size_t i = 0; i < prefixes.size(); ++i)
    levels.push_back({prefixes[i], codes.values[i], shared.values[i] != 0});
  return levels;
}

}  // namespace

std::string code_token(const std::string& prefix, int32_t code) {
  return fmt::format("<{}_{}>", prefix, code);
}

std::vector<std::string> ItemIdentifiers::sem_tokens(size_t item) const {
  return tokens_of(sem_levels, sem_ids, item);
}

std::vector<std::string> ItemIdentifiers::col_tokens(size_t item) const {
  return tokens_of(col_levels, col_ids, item);
}

std::vector<std::string> ItemIdentifiers::all_tokens() const {
  // A prefix can appear in both kinds (shared levels, the suffix) with different code counts: the
  // suffix level of each kind counts its own collisions, so the vocabulary takes the larger.
  std::vector<std::string> order;
  std::map<std::string, int32_t> codes;
  for (const auto* levels : {&sem_levels, &col_levels}) {
    for (const auto& l : *levels) {
      auto [it, inserted] = codes.emplace(l.prefix, l.codes);
      if (inserted) order.push_back(l.prefix);
      else it->second = std::max(it->second, l.codes);
    }
  }
  std::vector<std::string> out;
  for (const auto& prefix : order)
    for (int32_t c = 0; c < codes[prefix]; ++c) out.push_back(code_token(prefix, c));
  return out;
}

int64_t ItemIdentifiers::find_item(const std::string& key) const {
  if (key_index_.size() != item_keys.size()) {
    key_index_.clear();
    for (size_t i = 0; i < item_keys.size(); ++i) key_index_.emplace(item_keys[i], i);
  }
  auto it = key_index_.find(key);
  return it == key_index_.end() ? -1 : it->second;
}

void ItemIdentifiers::validate() const {
  size_t n = num_items();
  GENSAR_CHECK(sem_ids.size() == n * sem_length(), "sem_ids has {} codes for {} items x {} levels",
               sem_ids.size(), n, sem_length());
  GENSAR_CHECK(col_ids.size() == n * col_length(), "col_ids has {} codes for {} items x {} levels",
               col_ids.size(), n, col_length());
  for (const auto* pair : {&sem_levels, &col_levels}) {
    const auto& levels = *pair;
    const auto& ids = pair == &sem_levels ? sem_ids : col_ids;
    for (size_t i = 0; i < n; ++i)
      for (size_t l = 0; l < levels.size(); ++l) {
        int32_t c = ids[i * levels.size() + l];
        GENSAR_CHECK(c >= 0 && c < levels[l].codes, "item {} level {} code {} outside [0, {})",
                     item_keys[i], levels[l].prefix, c, levels[l].codes);
      }
  }
  for (size_t l = 0; l < sem_length() && l < col_length(); ++l) {
    if (!sem_levels[l].shared || !col_levels[l].shared) continue;
    for (size_t i = 0; i < n; ++i)
      GENSAR_CHECK(sem(i, l) == col(i, l), "item {}: shared level {} differs between IDs",
                   item_keys[i], l);
  }
}

void write_identifiers(h5::File& f, const ItemIdentifiers& ids) {
  ids.validate();
  f.write_strings("item_keys", ids.item_keys);
  uint64_t n = ids.num_items();
  f.write("sem_ids", ids.sem_ids.data(), {n, ids.sem_length()});
  f.write("col_ids", ids.col_ids.data(), {n, ids.col_length()});
  write_levels(f, "sem", ids.sem_levels);
  write_levels(f, "col", ids.col_levels);
  f.write_attr("format", "gensar-identifiers-1");
  f.write_attr("config_hash", ids.config_hash);
  f.write_attr("id_mode", ids.id_mode);
}

void save_identifiers(const std::string& path, const ItemIdentifiers& ids) {
  h5::File f = h5::File::create(path);
  write_identifiers(f, ids);
}

ItemIdentifiers load_identifiers(const std::string& path) {
  h5::File f = h5::File::open(path);
  GENSAR_INPUT_CHECK(f.has_attr("format") && f.read_attr("format") == "gensar-identifiers-1",
                     "{}: not a gensar identifiers file (format attribute missing or unknown)", path);
  ItemIdentifiers ids;
  ids.item_keys = f.read_strings("item_keys");
  ids.sem_levels = read_levels(f, "sem");
  ids.col_levels = read_levels(f, "col");
  h5::Array<int32_t> sem = f.read_array<int32_t>("sem_ids");
  h5::Array<int32_t> col = f.read_array<int32_t>("col_ids");
  GENSAR_INPUT_CHECK(sem.dims.size() == 2 && sem.dims[0] == ids.num_items() &&
                         sem.dims[1] == ids.sem_length(),
                     "{}: sem_ids shape does not match {} items x {} levels", path, ids.num_items(),
                     ids.sem_length());
  GENSAR_INPUT_CHECK(col.dims.size() == 2 && col.dims[0] == ids.num_items() &&
                         col.dims[1] == ids.col_length(),
                     "{}: col_ids shape does not match {} items x {} levels", path, ids.num_items(),
                     ids.col_length());
  ids.sem_ids = std::move(sem.values);
  ids.col_ids = std::move(col.values);
  ids.config_hash = f.read_attr("config_hash");
  ids.id_mode = f.read_attr("id_mode");
  ids.validate();
  return ids;
}

}  // namespace gensar::rqvae
