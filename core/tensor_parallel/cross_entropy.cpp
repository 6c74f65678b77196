#include "core/tensor_parallel/cross_entropy.h"

#include <torch/torch.h>

#include "core/common/check.h"

namespace gensar::tp {
namespace F = torch::nn::functional;

torch::Tensor vocab_parallel_cross_entropy(const torch::Tensor& logits_local,
                                           const torch::Tensor& labels, const ParallelContext& ctx,
                                           int64_t ignore_index, double label_smoothing) {
  GENSAR_CHECK(logits_local.dim() == 2 && labels.dim() == 1 &&
                   logits_local.size(0) == labels.size(0),
               "cross-entropy wants logits [N, V] and labels [N], got {} and {}",
               c10::str(logits_local.sizes()), c10::str(labels.sizes()));
  GENSAR_CHECK(label_smoothing >= 0.0 && label_smoothing < 1.0,
               "label smoothing {} is not in [0, 1)", label_smoothing);
  const auto ignored = labels == ignore_index;
  if (ctx.size() == 1) {
    return F::cross_entropy(logits_local, labels,
                            F::CrossEntropyFuncOptions()
                                .reduction(torch::kNone)
                                .ignore_index(ignore_index)
                                .label_smoothing(label_smoothing));
  }
  // Megatron's formulation: a global max for stability (no gradient), the target logit from the
  // rank that owns it, and the global sum of exponentials, each all-reduced.
  const int64_t local_vocab = logits_local.size(1);
  const int64_t start = ctx.rank() * local_vocab;
  auto max = all_reduce_max(std::get<0>(logits_local.detach().max(1, true)), ctx.tp);
  auto shifted = logits_local - max;
  auto local_label = labels - start;
  auto outside = ignored | (local_label < 0) | (local_label >= local_vocab);
  auto picked = shifted.gather(1, local_label.masked_fill(outside, 0).unsqueeze(1)).squeeze(1);
  picked = reduce_from_tp_region(picked.masked_fill(outside, 0.0), ctx.tp);
  auto sum_exp = reduce_from_tp_region(shifted.exp().sum(1), ctx.tp);
  auto nll = sum_exp.log() - picked;
  if (label_smoothing > 0.0) {
    const double vocab = static_cast<double>(local_vocab * ctx.size());
    auto mean_logit = reduce_from_tp_region(shifted.sum(1), ctx.tp) / vocab;
    nll = (1.0 - label_smoothing) * nll + label_smoothing * (sum_exp.log() - mean_logit);
  }
  return nll.masked_fill(ignored, 0.0);
}

}  // namespace gensar::tp
