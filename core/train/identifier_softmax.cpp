#include "core/train/identifier_softmax.h"

#include <torch/torch.h>

#include <limits>

#include "core/common/check.h"

namespace gensar::train {

IdSoftmax parse_id_softmax(const std::string& text) {
  if (text == "vocabulary") return IdSoftmax::kVocabulary;
  if (text == "catalogue") return IdSoftmax::kCatalogue;
  GENSAR_INPUT_CHECK(false, "--id-softmax: expected vocabulary or catalogue, got '{}'", text);
  return IdSoftmax::kVocabulary;
}

decoding::PrefixTrie identifier_trie(const SampleBuilder& b, const int32_t* items, int64_t n,
                                     bool semantic) {
  std::vector<int64_t> tokens, ids;
  int64_t len = 0;
  tokens.reserve(n * 4);
  ids.reserve(n);
  for (int64_t i = 0; i < n; ++i) {
    const auto id = semantic ? b.semantic_id(items[i]) : b.collaborative_id(items[i]);
    GENSAR_CHECK(len == 0 || static_cast<int64_t>(id.size()) == len,
                 "item {} has an identifier of {} tokens, others {}", items[i], id.size(), len);
    len = static_cast<int64_t>(id.size());
    tokens.insert(tokens.end(), id.begin(), id.end());
    ids.push_back(items[i]);
  }
  return decoding::PrefixTrie::build(tokens, len, ids);
}

decoding::PrefixTrie catalogue_trie(const SampleBuilder& b, bool semantic) {
  std::vector<int32_t> all(b.dataset().num_items());
  for (int32_t i = 0; i < b.dataset().num_items(); ++i) all[i] = i;
  return identifier_trie(b, all.data(), static_cast<int64_t>(all.size()), semantic);
}

CatalogueSoftmaxLoss::CatalogueSoftmaxLoss(const SampleBuilder& builder, double label_smoothing)
    : collaborative_(catalogue_trie(builder, false)),
      semantic_(catalogue_trie(builder, true)),
      rec_marker_(builder.rec_item_token()),
      src_marker_(builder.src_item_token()),
      label_smoothing_(label_smoothing) {
  GENSAR_INPUT_CHECK(label_smoothing >= 0.0 && label_smoothing < 1.0,
                     "--label-smoothing {} is not in [0, 1)", label_smoothing);
}

torch::Tensor CatalogueSoftmaxLoss::token_losses(const torch::Tensor& logits,
                                                 const torch::Tensor& labels) const {
  GENSAR_CHECK(logits.dim() == 3 && labels.dim() == 2 && logits.size(0) == labels.size(0) &&
                   logits.size(1) == labels.size(1),
               "logits {} must be [B, T, V] over labels {} [B, T]", c10::str(logits.sizes()),
               c10::str(labels.sizes()));
  const int64_t b = labels.size(0), t = labels.size(1), v = logits.size(2);
  torch::Tensor flat = logits.reshape({b * t, v});
  torch::Tensor lab = labels.reshape({b * t}).to(torch::kCPU).contiguous();
  const int64_t* l = lab.data_ptr<int64_t>();

  // Identifier positions and their trie nodes (the node whose children the label is one of).
  std::vector<int64_t> rows, nodes;
  std::vector<const decoding::PrefixTrie*> row_trie;
  for (int64_t r = 0; r < b; ++r) {
    const int64_t* row = l + r * t;
    const decoding::PrefixTrie* trie =
        row[0] == rec_marker_ ? &collaborative_ : row[0] == src_marker_ ? &semantic_ : nullptr;
    if (!trie) continue;
    const int64_t len = trie->id_length();
    GENSAR_CHECK(len + 1 <= t, "label row {} too short ({}) for an identifier of {} tokens", r, t, len);
    int64_t node = decoding::PrefixTrie::kRoot;
    for (int64_t j = 1; j <= len; ++j) {
      rows.push_back(r * t + j);
      nodes.push_back(node);
      row_trie.push_back(trie);
      node = trie->child(node, row[j]);
      GENSAR_CHECK(node >= 0, "label row {}: token {} at position {} leaves the catalogue trie", r,
                   row[j], j);
    }
  }
  // Children as a padded [R, K] index (padding repeats the first child and is masked out).
  int64_t k_max = 1;
  for (size_t i = 0; i < rows.size(); ++i) {
    auto [first, end] = row_trie[i]->children(nodes[i]);
    k_max = std::max(k_max, end - first);
  }
  const int64_t nr = static_cast<int64_t>(rows.size());
  torch::Tensor index = torch::zeros({nr, k_max}, torch::kInt64);
  torch::Tensor pad = torch::ones({nr, k_max}, torch::kBool);
  auto idx = index.accessor<int64_t, 2>();
  auto pd = pad.accessor<bool, 2>();
  for (int64_t i = 0; i < nr; ++i) {
    auto [first, end] = row_trie[i]->children(nodes[i]);
    for (int64_t k = 0; k < k_max; ++k) {
      const int64_t c = first + std::min(k, end - first - 1);
      idx[i][k] = row_trie[i]->token(c);
      pd[i][k] = k >= end - first;
    }
  }

  const torch::Tensor valid = lab != -100;
  torch::Tensor lse = torch::logsumexp(flat, 1);  // [B*T]
  const bool smooth = label_smoothing_ > 0.0;
  torch::Tensor mean_logit = smooth ? flat.mean(1) : torch::Tensor();  // over the normaliser
  if (nr > 0) {
    torch::Tensor row_index = torch::tensor(rows, torch::kInt64).to(flat.device());
    const torch::Tensor padded = pad.to(flat.device());
    torch::Tensor child_logits = flat.index_select(0, row_index)
                                     .gather(1, index.to(flat.device()))
                                     .masked_fill(padded, -std::numeric_limits<float>::infinity());
    lse = lse.index_copy(0, row_index, torch::logsumexp(child_logits, 1));
    if (smooth) {
      // Padded children hold -inf: they leave the mean's sum and its count.
      torch::Tensor child_mean = child_logits.masked_fill(padded, 0.0).sum(1) /
                                 padded.logical_not().sum(1).to(flat.scalar_type());
      mean_logit = mean_logit.index_copy(0, row_index, child_mean);
    }
  }
  torch::Tensor target = flat.gather(1, lab.clamp_min(0).to(flat.device()).unsqueeze(1)).squeeze(1);
  torch::Tensor loss = lse - target;
  if (smooth) loss = (1.0 - label_smoothing_) * loss + label_smoothing_ * (lse - mean_logit);
  return (loss * valid.to(flat.device()).to(flat.scalar_type())).view({b, t});
}

}  // namespace gensar::train
