// Cross-entropy over vocabulary-parallel logits (Megatron-LM core/tensor_parallel/cross_entropy.py):
// the loss of each row without gathering the full [N, V] logits on any rank.
#pragma once

#include <torch/types.h>

#include "core/tensor_parallel/layers.h"

namespace gensar::tp {

// Cross-entropy per row of vocab-parallel logits [N, V/tp] against labels [N] (global ids);
// rows whose label is `ignore_index` get loss 0. Returns [N]. Differentiable.
// `label_smoothing` eps: the target is (1 - eps) on the label plus eps spread evenly over the
// whole vocabulary, i.e. the loss is (1 - eps) * NLL + eps * (logsumexp - mean logit).
torch::Tensor vocab_parallel_cross_entropy(const torch::Tensor& logits_local,
                                           const torch::Tensor& labels, const ParallelContext& ctx,
                                           int64_t ignore_index = -100,
                                           double label_smoothing = 0.0);

}  // namespace gensar::tp
