// Item identifiers: what `gensar index` produces and the trainer/evaluator consume.
//
// Every item has a semantic ID (used for search) and a collaborative ID (used for recommendation).
// Each ID is a fixed-length sequence of codes; position p of an ID is one token `<PREFIX_CODE>`, the
// prefix naming the codebook level: shared levels `s_a`, `s_b`, ...; semantic-only levels `sem_a`,
// ...; collaborative-only levels `col_a`, ...; an optional disambiguating suffix `sfx`. E.g. the
// default semantic ID `<s_a_12><s_b_7><sem_a_200><sem_b_3>` and collaborative ID
// `<s_a_12><s_b_7><col_a_5><col_b_91>` share their first two (shared-level) tokens.
// Torch-free on purpose: the trainer and evaluator only need these tables.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace gensar::h5 {
class File;
}

namespace gensar::rqvae {

struct IdentifierLevel {
  std::string prefix;  // token prefix, e.g. "s_a", "sem_b", "sfx"
  int32_t codes = 0;   // code count of the level: tokens <prefix_0> .. <prefix_{codes-1}>
  bool shared = false; // a shared-codebook level (same code in both IDs of an item)
};

struct ItemIdentifiers {
  std::vector<std::string> item_keys;
  std::vector<IdentifierLevel> sem_levels, col_levels;
  std::vector<int32_t> sem_ids;  // row-major [items x sem_levels.size()]
  std::vector<int32_t> col_ids;  // row-major [items x col_levels.size()]
  std::string config_hash;       // hash of the config and inputs that made these identifiers
  std::string id_mode = "joint"; // joint | semantic-only | collab-only

  size_t num_items() const { return item_keys.size(); }
  size_t sem_length() const { return sem_levels.size(); }
  size_t col_length() const { return col_levels.size(); }
  int32_t sem(size_t item, size_t level) const { return sem_ids[item * sem_length() + level]; }
  int32_t col(size_t item, size_t level) const { return col_ids[item * col_length() + level]; }

  // Token strings of one item's identifier, e.g. {"<s_a_12>", "<s_b_7>", "<sem_a_200>", "<sem_b_3>"}.
  std::vector<std::string> sem_tokens(size_t item) const;
  std::vector<std::string> col_tokens(size_t item) const;
  // Every token any identifier can use (all codes of all levels, each once), in a stable order:
  // level by level, sem levels then collaborative-only levels, code ascending. For the vocabulary.
  std::vector<std::string> all_tokens() const;
  // Item row by key; -1 when unknown.
  int64_t find_item(const std::string& key) const;
  // Throws unless shapes agree, codes lie in range and shared levels agree between both IDs.
  void validate() const;

 private:
  mutable std::unordered_map<std::string, int64_t> key_index_;
};

std::string code_token(const std::string& prefix, int32_t code);  // "<prefix_code>"

// The identifier part of identifiers.h5 (datasets at the file root; see docs/identifiers.md).
// save_identifiers creates (truncates) the file; the RQ-VAE trainer adds codebooks and weights.
void save_identifiers(const std::string& path, const ItemIdentifiers& ids);
ItemIdentifiers load_identifiers(const std::string& path);
void write_identifiers(h5::File& file, const ItemIdentifiers& ids);  // into an open file


}  // namespace gensar::rqvae
