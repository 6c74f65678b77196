#include "core/decoding/prefix_trie.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>

#include "core/common/check.h"

namespace gensar::decoding {

PrefixTrie PrefixTrie::build(const std::vector<int64_t>& tokens, int64_t id_length,
                             const std::vector<int64_t>& items) {
  GENSAR_CHECK(id_length > 0, "identifier length must be positive, got {}", id_length);
  GENSAR_CHECK(tokens.size() % id_length == 0, "{} tokens is not a multiple of id length {}",
               tokens.size(), id_length);
  const int64_t n = static_cast<int64_t>(tokens.size()) / id_length;
  GENSAR_CHECK(items.empty() || static_cast<int64_t>(items.size()) == n,
               "{} items for {} identifiers", items.size(), n);
  for (int64_t t : tokens) GENSAR_CHECK(t >= 0, "identifier token {} is negative", t);

  const int64_t len = id_length;
  const int64_t* seq = tokens.data();
  // Sort identifiers; ties (collisions) keep input order so a shared leaf lists items stably.
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [seq, len](int64_t a, int64_t b) {
    return std::lexicographical_compare(seq + a * len, seq + (a + 1) * len, seq + b * len,
                                        seq + (b + 1) * len);
  });
  // first_diff[i]: length of the prefix sorted identifier i shares with identifier i-1. Identifier
  // i opens one new node at every depth deeper than that.
  std::vector<int32_t> first_diff(n, 0);
  for (int64_t i = 1; i < n; ++i) {
    const int64_t* a = seq + order[i - 1] * len;
    const int64_t* b = seq + order[i] * len;
    int32_t d = 0;
    while (d < len && a[d] == b[d]) ++d;
    first_diff[i] = d;
  }

  PrefixTrie trie;
  trie.id_length_ = len;
  trie.num_sequences_ = n;
  trie.level_begin_.assign(len + 2, 0);
  trie.level_begin_[1] = 1;
  for (int64_t d = 1; d <= len; ++d) {
    int64_t count = 0;
    for (int64_t i = 0; i < n; ++i) count += first_diff[i] < d;
    trie.level_begin_[d + 1] = trie.level_begin_[d] + count;
  }
  const int64_t total = trie.level_begin_[len + 1];
  trie.node_token_.assign(total, -1);
  trie.child_begin_.assign(total + 1, total);

  std::vector<int64_t> node_of(n, kRoot);  // node of sorted identifier i at the current depth
  for (int64_t d = 1; d <= len; ++d) {
    int64_t next = trie.level_begin_[d];
    int64_t last_parent = -1;
    for (int64_t i = 0; i < n; ++i) {
      if (first_diff[i] < d) {
        const int64_t parent = node_of[i];
        if (parent != last_parent) {
          trie.child_begin_[parent] = next;
          last_parent = parent;
        }
        trie.node_token_[next] = seq[order[i] * len + d - 1];
        node_of[i] = next++;
      } else {
        node_of[i] = node_of[i - 1];
      }
    }
  }

  const int64_t first_leaf = trie.level_begin_[len];
  trie.leaf_item_begin_.assign(total - first_leaf + 1, 0);
  trie.leaf_items_.reserve(n);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t leaf = node_of[i] - first_leaf;
    trie.leaf_items_.push_back(items.empty() ? order[i] : items[order[i]]);
    trie.leaf_item_begin_[leaf + 1] = static_cast<int64_t>(trie.leaf_items_.size());
  }
  for (int64_t leaf = 0; leaf + 1 < static_cast<int64_t>(trie.leaf_item_begin_.size()); ++leaf) {
    if (trie.leaf_item_begin_[leaf + 1] - trie.leaf_item_begin_[leaf] > 1) ++trie.num_shared_leaves_;
  }
  return trie;
}

PrefixTrie PrefixTrie::build(const torch::Tensor& identifiers, const std::vector<int64_t>& items) {
  GENSAR_CHECK(identifiers.dim() == 2, "identifiers must be [N, L], got {} dims", identifiers.dim());
  torch::Tensor ids = identifiers.to(torch::kCPU, torch::kLong).contiguous();
  std::vector<int64_t> flat(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
  return build(flat, ids.size(1), items);
}

int64_t PrefixTrie::depth(int64_t node) const {
  GENSAR_CHECK(node >= 0 && node < num_nodes(), "node {} out of range [0, {})", node, num_nodes());
  return static_cast<int64_t>(
             std::upper_bound(level_begin_.begin(), level_begin_.end() - 1, node) -
             level_begin_.begin()) - 1;
}

int64_t PrefixTrie::child(int64_t node, int64_t token) const {
  auto [first, last] = children(node);
  auto begin = node_token_.begin() + first;
  auto end = node_token_.begin() + last;
  auto it = std::lower_bound(begin, end, token);
  return (it != end && *it == token) ? first + (it - begin) : -1;
}

int64_t PrefixTrie::find(const int64_t* tokens) const {
  if (num_nodes() == 0) return -1;
  int64_t node = kRoot;
  for (int64_t d = 0; d < id_length_ && node >= 0; ++d) node = child(node, tokens[d]);
  return node;
}

std::pair<const int64_t*, const int64_t*> PrefixTrie::items(int64_t leaf) const {
  GENSAR_CHECK(is_leaf(leaf) && leaf < num_nodes(), "node {} is not a leaf", leaf);
  const int64_t k = leaf - level_begin_[id_length_];
  return {leaf_items_.data() + leaf_item_begin_[k], leaf_items_.data() + leaf_item_begin_[k + 1]};
}

void PrefixTrie::allowed_tokens(const std::vector<int64_t>& nodes, std::vector<int64_t>* offsets,
                                std::vector<int64_t>* tokens) const {
  offsets->assign(1, 0);
  tokens->clear();
  for (int64_t node : nodes) {
    if (node >= 0) {
      auto [first, last] = children(node);
      tokens->insert(tokens->end(), node_token_.begin() + first, node_token_.begin() + last);
    }
    offsets->push_back(static_cast<int64_t>(tokens->size()));
  }
}

torch::Tensor PrefixTrie::allowed_mask(const torch::Tensor& nodes, int64_t vocab_size) const {
  torch::Tensor cpu = nodes.to(torch::kCPU, torch::kLong).contiguous();
  std::vector<int64_t> node_list(cpu.data_ptr<int64_t>(), cpu.data_ptr<int64_t>() + cpu.numel());
  std::vector<int64_t> offsets, tokens;
  allowed_tokens(node_list, &offsets, &tokens);
  torch::Tensor mask = torch::zeros({cpu.numel(), vocab_size}, torch::kBool);
  bool* out = mask.data_ptr<bool>();
  for (size_t r = 0; r + 1 < offsets.size(); ++r) {
    for (int64_t j = offsets[r]; j < offsets[r + 1]; ++j) {
      GENSAR_CHECK(tokens[j] < vocab_size, "trie token {} outside vocabulary of {}", tokens[j],
                   vocab_size);
      out[r * vocab_size + tokens[j]] = true;
    }
  }
  return mask.to(nodes.device());
}

}  // namespace gensar::decoding
