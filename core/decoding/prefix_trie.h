// Prefix trie of valid item identifiers: fixed-length token sequences, each leaf naming the items
// that carry that identifier. Constrained beam search walks it one level per decoding step.
//
// Layout (why it is fast to build and to query): nodes are numbered breadth-first after sorting the
// identifiers, so the children of a node are one contiguous node range, sorted by token, and the
// nodes at one depth are in lexicographic order of their prefixes. Node id order therefore IS the
// lexicographic tie-break order among prefixes of one length.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace gensar::decoding {

class PrefixTrie {
 public:
  static constexpr int64_t kRoot = 0;

  PrefixTrie() = default;

  // tokens: num_sequences * id_length token ids, row-major; items[i] names sequence i's item
  // (empty = 0..num_sequences-1). Identical identifiers share a leaf holding all their items.
  static PrefixTrie build(const std::vector<int64_t>& tokens, int64_t id_length,
                          const std::vector<int64_t>& items = {});
  // identifiers: [N, id_length] int64 tensor (any device; copied to CPU).
  static PrefixTrie build(const torch::Tensor& identifiers, const std::vector<int64_t>& items = {});

  int64_t id_length() const { return id_length_; }
  int64_t num_nodes() const { return static_cast<int64_t>(node_token_.size()); }
  int64_t num_sequences() const { return num_sequences_; }
  int64_t num_leaves() const { return num_nodes() - level_begin_[id_length_]; }
  // Identifiers shared by more than one item (collisions left in the ID table).
  int64_t num_shared_leaves() const { return num_shared_leaves_; }

  int64_t depth(int64_t node) const;
  bool is_leaf(int64_t node) const { return node >= level_begin_[id_length_]; }
  // Token that leads into `node` (-1 for the root).
  int64_t token(int64_t node) const { return node_token_[node]; }
  // Children of `node` as the node range [first, second).
  std::pair<int64_t, int64_t> children(int64_t node) const {
    return {child_begin_[node], child_begin_[node + 1]};
  }
  // Child of `node` reached by `token`, or -1.
  int64_t child(int64_t node, int64_t token) const;
  // Leaf of a full identifier (id_length tokens), or -1 when it is not in the trie.
  int64_t find(const int64_t* tokens) const;
  // Items of a leaf as [begin, end) pointers.
  std::pair<const int64_t*, const int64_t*> items(int64_t leaf) const;

  // Allowed next tokens for a batch of beams at trie nodes `nodes` [N] (int64; -1 = dead row):
  // a [N, vocab_size] bool mask, true where the continuation stays inside the trie.
  torch::Tensor allowed_mask(const torch::Tensor& nodes, int64_t vocab_size) const;
  // The same as index lists: row r's allowed tokens are tokens[offsets[r] .. offsets[r+1]).
  void allowed_tokens(const std::vector<int64_t>& nodes, std::vector<int64_t>* offsets,
                      std::vector<int64_t>* tokens) const;

 private:
  int64_t id_length_ = 0;
  int64_t num_sequences_ = 0;
  int64_t num_shared_leaves_ = 0;
  std::vector<int64_t> level_begin_;  // first node id at each depth 0..id_length, then num_nodes
  std::vector<int64_t> node_token_;   // token leading into each node
  std::vector<int64_t> child_begin_;  // num_nodes + 1 entries; leaves have empty ranges
  std::vector<int64_t> leaf_item_begin_;  // per leaf (index node - first leaf), num_leaves + 1
  std::vector<int64_t> leaf_items_;
};

}  // namespace gensar::decoding
