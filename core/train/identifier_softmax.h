// IdSoftmax (declared with SampleBuilderOptions, which carries it): where the softmax over an identifier token is taken (--id-softmax):
//  - "vocabulary" (the GenSAR paper, and the default): every identifier token is one step of a
//    plain softmax over the whole model vocabulary, so the model must also learn which code paths
//    exist in the catalogue;
//  - "catalogue": each identifier token is normalised over the tokens that continue its prefix to
//    some catalogue item (the children of its node in the catalogue's prefix trie). The sequence
//    probability is then a distribution over catalogue items (a hierarchical softmax along the
//    identifier), and no capacity is spent memorising the code paths themselves: on Amazon
//    Scientific those paths are over half of a rec target's cross-entropy (docs/results.md).
// Training and scoring must agree: a model trained one way is scored the same way (beam search
// takes the catalogue trie as its normaliser; core/eval/evaluator.cpp, core/train/inference.cpp).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/decoding/prefix_trie.h"
#include "core/train/sample_builder.h"

namespace gensar::train {

// Trie over the identifiers (semantic or collaborative, model token ids, no marker) of `n` dataset
// items; leaves name the items.
decoding::PrefixTrie identifier_trie(const SampleBuilder& builder, const int32_t* items, int64_t n,
                                     bool semantic);
// The same over the whole catalogue.
decoding::PrefixTrie catalogue_trie(const SampleBuilder& builder, bool semantic);

// Token losses [B, T] for teacher-forced logits [B, T, V] (the full vocabulary) and labels [B, T]
// (-100 = ignored: loss 0). A label row whose first token is `<rec_item>` (`<src_item>`) carries a
// collaborative (semantic) identifier in the next id_length positions; those positions are
// normalised over their catalogue trie children, every other position over the vocabulary.
// `label_smoothing` eps spreads eps of each position's target evenly over that position's
// normaliser (the trie children, or the vocabulary): loss = (1 - eps) * NLL + eps * (logsumexp -
// mean logit over the normaliser), as tp::vocab_parallel_cross_entropy does for --id-softmax
// vocabulary.
class CatalogueSoftmaxLoss {
 public:
  explicit CatalogueSoftmaxLoss(const SampleBuilder& builder, double label_smoothing = 0.0);
  torch::Tensor token_losses(const torch::Tensor& logits, const torch::Tensor& labels) const;

 private:
  decoding::PrefixTrie collaborative_, semantic_;
  int64_t rec_marker_ = -1, src_marker_ = -1;
  double label_smoothing_ = 0.0;
};

}  // namespace gensar::train
