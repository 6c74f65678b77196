// The trie against brute force over explicit prefix sets.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <random>
#include <set>

#include "core/common/check.h"
#include "core/decoding/prefix_trie.h"

namespace gensar::decoding {
namespace {

using Seq = std::vector<int64_t>;

std::vector<int64_t> flatten(const std::vector<Seq>& seqs) {
  std::vector<int64_t> out;
  for (const Seq& s : seqs) out.insert(out.end(), s.begin(), s.end());
  return out;
}

// Walks the trie down a prefix; -1 if it leaves the trie.
int64_t node_of(const PrefixTrie& trie, const Seq& prefix) {
  int64_t node = PrefixTrie::kRoot;
  for (int64_t t : prefix) {
    node = trie.child(node, t);
    if (node < 0) return -1;
  }
  return node;
}

TEST(PrefixTrie, SmallHandBuiltTrie) {
  // Items 0..4; items 1 and 4 collide on {3, 1}.
  const std::vector<Seq> ids = {{5, 2}, {3, 1}, {3, 0}, {5, 9}, {3, 1}};
  PrefixTrie trie = PrefixTrie::build(flatten(ids), 2, {10, 11, 12, 13, 14});
  EXPECT_EQ(trie.id_length(), 2);
  EXPECT_EQ(trie.num_sequences(), 5);
  EXPECT_EQ(trie.num_nodes(), 1 + 2 + 4);  // root, {3,5}, {30,31,52,59}
  EXPECT_EQ(trie.num_leaves(), 4);
  EXPECT_EQ(trie.num_shared_leaves(), 1);
  auto [first, last] = trie.children(PrefixTrie::kRoot);
  ASSERT_EQ(last - first, 2);
  EXPECT_EQ(trie.token(first), 3);
  EXPECT_EQ(trie.token(first + 1), 5);
  EXPECT_EQ(trie.depth(first), 1);

  const Seq shared = {3, 1};
  const int64_t leaf = trie.find(shared.data());
  ASSERT_GE(leaf, 0);
  EXPECT_TRUE(trie.is_leaf(leaf));
  EXPECT_EQ(trie.depth(leaf), 2);
  auto [ib, ie] = trie.items(leaf);
  EXPECT_EQ(std::vector<int64_t>(ib, ie), (std::vector<int64_t>{11, 14}));  // input order kept
  const Seq absent = {5, 1};
  EXPECT_EQ(trie.find(absent.data()), -1);
  const Seq other = {5, 9};
  auto [ob, oe] = trie.items(trie.find(other.data()));
  EXPECT_EQ(std::vector<int64_t>(ob, oe), (std::vector<int64_t>{13}));

  // Leaves in lexicographic order: {3,0} {3,1} {5,2} {5,9}.
  std::vector<int64_t> leaf_tokens;
  for (int64_t n = 0; n < trie.num_nodes(); ++n) {
    if (trie.is_leaf(n)) leaf_tokens.push_back(trie.token(n));
  }
  EXPECT_EQ(leaf_tokens, (std::vector<int64_t>{0, 1, 2, 9}));
}

TEST(PrefixTrie, MatchesBruteForceOnRandomIdentifiers) {
  std::mt19937_64 rng(7);
  const int64_t len = 4, vocab = 6, n = 3000;
  std::vector<Seq> ids(n, Seq(len));
  for (Seq& s : ids)
    for (int64_t& t : s) t = static_cast<int64_t>(rng() % vocab) + 2;
  PrefixTrie trie = PrefixTrie::build(flatten(ids), len);

  // Brute force: allowed next tokens of every prefix, and items of every full identifier.
  std::map<Seq, std::set<int64_t>> next;
  std::map<Seq, std::vector<int64_t>> items;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t d = 0; d < len; ++d) next[Seq(ids[i].begin(), ids[i].begin() + d)].insert(ids[i][d]);
    items[ids[i]].push_back(i);
  }
  int64_t prefixes = 0;
  for (const auto& [prefix, allowed] : next) prefixes += 1;
  EXPECT_EQ(trie.num_nodes(), prefixes + static_cast<int64_t>(items.size()));
  EXPECT_EQ(trie.num_leaves(), static_cast<int64_t>(items.size()));

  std::vector<int64_t> nodes;
  std::vector<std::set<int64_t>> expected;
  for (const auto& [prefix, allowed] : next) {
    const int64_t node = node_of(trie, prefix);
    ASSERT_GE(node, 0);
    EXPECT_EQ(trie.depth(node), static_cast<int64_t>(prefix.size()));
    nodes.push_back(node);
    expected.push_back(allowed);
  }
  nodes.push_back(-1);  // a dead row allows nothing
  expected.emplace_back();
  torch::Tensor mask = trie.allowed_mask(torch::tensor(nodes, torch::kLong), vocab + 2);
  ASSERT_EQ(mask.size(0), static_cast<int64_t>(nodes.size()));
  auto m = mask.accessor<bool, 2>();
  std::vector<int64_t> offsets, tokens;
  trie.allowed_tokens(nodes, &offsets, &tokens);
  for (size_t r = 0; r < nodes.size(); ++r) {
    std::set<int64_t> from_mask;
    for (int64_t v = 0; v < vocab + 2; ++v)
      if (m[r][v]) from_mask.insert(v);
    EXPECT_EQ(from_mask, expected[r]);
    EXPECT_EQ(Seq(tokens.begin() + offsets[r], tokens.begin() + offsets[r + 1]),
              Seq(expected[r].begin(), expected[r].end()));  // sorted, no duplicates
  }
  for (const auto& [id, its] : items) {
    auto [b, e] = trie.items(trie.find(id.data()));
    EXPECT_EQ(std::vector<int64_t>(b, e), its);
  }

  // Node ids within a depth follow lexicographic prefix order (the tie-break relies on it).
  std::map<int64_t, Seq> prefix_of_node;
  for (const auto& [prefix, allowed] : next) prefix_of_node[node_of(trie, prefix)] = prefix;
  Seq previous;
  int64_t previous_depth = -1;
  for (const auto& [node, prefix] : prefix_of_node) {
    if (static_cast<int64_t>(prefix.size()) == previous_depth) EXPECT_LT(previous, prefix);
    previous = prefix;
    previous_depth = static_cast<int64_t>(prefix.size());
  }
}

TEST(PrefixTrie, TensorBuildEqualsVectorBuild) {
  torch::Tensor ids = torch::tensor({4, 1, 2, 4, 0, 2, 3, 3, 3}, torch::kLong).view({3, 3});
  PrefixTrie a = PrefixTrie::build(ids, {7, 8, 9});
  PrefixTrie b = PrefixTrie::build(std::vector<int64_t>{4, 1, 2, 4, 0, 2, 3, 3, 3}, 3, {7, 8, 9});
  ASSERT_EQ(a.num_nodes(), b.num_nodes());
  for (int64_t n = 0; n < a.num_nodes(); ++n) {
    EXPECT_EQ(a.token(n), b.token(n));
    EXPECT_EQ(a.children(n), b.children(n));
  }
  const Seq q = {4, 0, 2};
  EXPECT_EQ(*a.items(a.find(q.data())).first, 8);
}

TEST(PrefixTrie, EmptyTrieAndBadInput) {
  PrefixTrie empty = PrefixTrie::build(std::vector<int64_t>{}, 3);
  EXPECT_EQ(empty.num_leaves(), 0);
  EXPECT_EQ(empty.children(PrefixTrie::kRoot).first, empty.children(PrefixTrie::kRoot).second);
  const Seq q = {1, 2, 3};
  EXPECT_EQ(empty.find(q.data()), -1);
  EXPECT_THROW(PrefixTrie::build(std::vector<int64_t>{1, 2, 3}, 2), Error);
  EXPECT_THROW(PrefixTrie::build(std::vector<int64_t>{1, -2}, 2), Error);
}

}  // namespace
}  // namespace gensar::decoding
