// --id-softmax catalogue (core/train/identifier_softmax.h): identifier positions are normalised over
// their catalogue trie children, every other position over the vocabulary; over all catalogue
// identifiers the per-item probabilities sum to one; gradients reach only the children.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/common/check.h"
#include "core/train/identifier_softmax.h"

#include "train_fixture.h"

using namespace gensar;
using namespace gensar::train;
using namespace gensar::train::testing;

namespace {

torch::Tensor padded_labels(const std::vector<std::vector<int64_t>>& rows, int64_t t) {
  torch::Tensor labels = torch::full({static_cast<int64_t>(rows.size()), t}, -100, torch::kInt64);
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t j = 0; j < rows[r].size(); ++j) labels[r][j] = rows[r][j];
  return labels;
}

}  // namespace

TEST(IdSoftmax, ParsesBothScopesAndRejectsOthers) {
  EXPECT_EQ(parse_id_softmax("vocabulary"), IdSoftmax::kVocabulary);
  EXPECT_EQ(parse_id_softmax("catalogue"), IdSoftmax::kCatalogue);
  EXPECT_THROW(parse_id_softmax("trie"), InputError);
}

TEST(IdSoftmax, IdentifierPositionsAreNormalisedOverTrieChildren) {
  TinyRun run = make_tiny_run("id_softmax");
  const SampleBuilder& b = *run.pieces.builder;
  const CatalogueSoftmaxLoss loss(b);
  const decoding::PrefixTrie col = catalogue_trie(b, false), sem = catalogue_trie(b, true);
  std::vector<int64_t> text = b.tokenizer().encode("hello world");
  text.push_back(b.tokenizer().eos_id());
  const std::vector<std::vector<int64_t>> rows = {b.rec_target(3), b.search_target(5), text};
  int64_t t = 0;
  for (const auto& r : rows) t = std::max<int64_t>(t, static_cast<int64_t>(r.size()) + 1);
  const int64_t v = b.tokenizer().vocab_size();
  torch::manual_seed(3);
  torch::Tensor logits = torch::randn({3, t, v}).requires_grad_(true);
  torch::Tensor labels = padded_labels(rows, t);
  torch::Tensor got = loss.token_losses(logits, labels);
  ASSERT_EQ(got.sizes(), torch::IntArrayRef({3, t}));

  auto full_ce = [&](int64_t r, int64_t j) {
    return -torch::log_softmax(logits[r][j], 0)[rows[r][j]].item<double>();
  };
  for (int64_t r = 0; r < 3; ++r) {
    const decoding::PrefixTrie* trie = r == 0 ? &col : r == 1 ? &sem : nullptr;
    int64_t node = decoding::PrefixTrie::kRoot;
    for (int64_t j = 0; j < t; ++j) {
      const double value = got[r][j].item<double>();
      if (j >= static_cast<int64_t>(rows[r].size())) {
        EXPECT_EQ(value, 0.0) << "padding at " << r << "," << j;
      } else if (trie && j >= 1 && j <= trie->id_length()) {
        auto [first, end] = trie->children(node);
        std::vector<int64_t> children;
        for (int64_t c = first; c < end; ++c) children.push_back(trie->token(c));
        torch::Tensor sub = logits[r][j].index_select(0, torch::tensor(children));
        const double expected =
            (torch::logsumexp(sub, 0) - logits[r][j][rows[r][j]]).item<double>();
        EXPECT_NEAR(value, expected, 1e-5) << "row " << r << " position " << j;
        node = trie->child(node, rows[r][j]);
      } else {
        EXPECT_NEAR(value, full_ce(r, j), 1e-5) << "row " << r << " position " << j;
      }
    }
  }
  // Gradients of an identifier position reach the trie children only.
  got[0][2].backward();
  torch::Tensor g = logits.grad()[0][2];
  const int64_t node1 = col.child(decoding::PrefixTrie::kRoot, rows[0][1]);
  auto [first, end] = col.children(node1);
  std::set<int64_t> children;
  for (int64_t c = first; c < end; ++c) children.insert(col.token(c));
  for (int64_t tok = 0; tok < v; ++tok)
    if (!children.count(tok)) EXPECT_EQ(g[tok].item<float>(), 0.0f) << "token " << tok;
}

// --label-smoothing eps: each position's loss is (1 - eps) * its NLL + eps * the mean NLL over its
// normaliser (trie children at identifier positions; the vocabulary elsewhere, which is LibTorch's
// own label-smoothed cross-entropy); zero at padding.
TEST(IdSoftmax, LabelSmoothingSpreadsOverTheNormaliser) {
  TinyRun run = make_tiny_run("id_softmax_smooth");
  const SampleBuilder& b = *run.pieces.builder;
  const double eps = 0.2;
  const CatalogueSoftmaxLoss loss(b, eps);
  const decoding::PrefixTrie col = catalogue_trie(b, false);
  std::vector<int64_t> text = b.tokenizer().encode("hello world");
  text.push_back(b.tokenizer().eos_id());
  const std::vector<std::vector<int64_t>> rows = {b.rec_target(2), text};
  const int64_t t = static_cast<int64_t>(std::max(rows[0].size(), rows[1].size())) + 1;
  const int64_t v = b.tokenizer().vocab_size();
  torch::manual_seed(5);
  torch::Tensor logits = torch::randn({2, t, v});
  torch::Tensor got = loss.token_losses(logits, padded_labels(rows, t));
  int64_t node = decoding::PrefixTrie::kRoot;
  for (int64_t j = 1; j <= col.id_length(); ++j) {
    auto [first, end] = col.children(node);
    std::vector<int64_t> children;
    for (int64_t c = first; c < end; ++c) children.push_back(col.token(c));
    torch::Tensor logp = torch::log_softmax(logits[0][j].index_select(0, torch::tensor(children)), 0);
    const int64_t k = std::find(children.begin(), children.end(), rows[0][j]) - children.begin();
    const double expected = -(1 - eps) * logp[k].item<double>() - eps * logp.mean().item<double>();
    EXPECT_NEAR(got[0][j].item<double>(), expected, 1e-5) << "identifier position " << j;
    node = col.child(node, rows[0][j]);
  }
  const int64_t n = static_cast<int64_t>(rows[1].size());
  torch::Tensor expected = torch::nn::functional::cross_entropy(
      logits[1].slice(0, 0, n), padded_labels({rows[1]}, t)[0].slice(0, 0, n),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone).label_smoothing(eps));
  EXPECT_TRUE(torch::allclose(got[1].slice(0, 0, n), expected, 1e-5, 1e-5));
  EXPECT_EQ(got[1].slice(0, n).abs().sum().item<double>(), 0.0);
  EXPECT_THROW(CatalogueSoftmaxLoss(b, 1.0), InputError);
}

TEST(IdSoftmax, ItemProbabilitiesSumToOneOverTheCatalogue) {
  TinyRun run = make_tiny_run("id_softmax_sum");
  const SampleBuilder& b = *run.pieces.builder;
  const CatalogueSoftmaxLoss loss(b);
  // Distinct collaborative identifiers (collisions would count one path twice).
  std::set<std::vector<int64_t>> seen;
  std::vector<std::vector<int64_t>> rows;
  for (int32_t i = 0; i < b.dataset().num_items(); ++i)
    if (seen.insert(b.collaborative_id(i)).second) rows.push_back(b.rec_target(i));
  const int64_t n = static_cast<int64_t>(rows.size()), t = 6, v = b.tokenizer().vocab_size();
  ASSERT_GT(n, 4);
  // The same logits for every row: then the product of the per-level conditionals over all paths
  // of the trie is one.
  torch::manual_seed(4);
  torch::Tensor logits = torch::randn({1, t, v}).expand({n, t, v}).contiguous();
  torch::Tensor losses = loss.token_losses(logits, padded_labels(rows, t));
  const int64_t len = catalogue_trie(b, false).id_length();
  torch::Tensor id_loss = losses.slice(1, 1, 1 + len).sum(1);
  EXPECT_NEAR(torch::exp(-id_loss).sum().item<double>(), 1.0, 1e-5);
}
