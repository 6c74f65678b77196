#include "core/model/parallel_layers.h"

#include <torch/torch.h>

#include "core/common/check.h"

namespace gensar::model {
namespace F = torch::nn::functional;

namespace {
int64_t split(int64_t full, int parts, const char* what) {
  GENSAR_CHECK(full % parts == 0, "{} of size {} does not split over {} TP ranks", what, full,
               parts);
  return full / parts;
}
}  // namespace

ColumnParallelLinearImpl::ColumnParallelLinearImpl(int64_t in, int64_t out, ParallelContext ctx)
    : ctx_(std::move(ctx)) {
  weight = register_parameter("weight",
                              torch::empty({split(out, ctx_.size(), "column-parallel output"), in}));
}

torch::Tensor ColumnParallelLinearImpl::forward(const torch::Tensor& x) {
  return forward_in_region(dist::copy_to_tp_region(x, ctx_.tp));
}

torch::Tensor ColumnParallelLinearImpl::forward_in_region(const torch::Tensor& x) {
  return F::linear(x, weight);
}

RowParallelLinearImpl::RowParallelLinearImpl(int64_t in, int64_t out, ParallelContext ctx)
    : ctx_(std::move(ctx)) {
  weight = register_parameter("weight",
                              torch::empty({out, split(in, ctx_.size(), "row-parallel input")}));
}

torch::Tensor RowParallelLinearImpl::forward(const torch::Tensor& x_local) {
  return dist::reduce_from_tp_region(F::linear(x_local, weight), ctx_.tp);
}

VocabParallelEmbeddingImpl::VocabParallelEmbeddingImpl(int64_t vocab, int64_t dim,
                                                       ParallelContext ctx)
    : ctx_(std::move(ctx)) {
  local_vocab_ = split(vocab, ctx_.size(), "vocabulary");
  vocab_start_ = ctx_.rank() * local_vocab_;
  weight = register_parameter("weight", torch::empty({local_vocab_, dim}));
}

torch::Tensor VocabParallelEmbeddingImpl::forward(const torch::Tensor& ids) {
  if (ctx_.size() == 1) return F::embedding(ids, weight);
  // Rows owned by other ranks look up row 0 and are zeroed; the all-reduce fills them in.
  auto local = ids - vocab_start_;
  auto outside = (local < 0) | (local >= local_vocab_);
  auto rows = F::embedding(local.masked_fill(outside, 0), weight);
  rows = rows.masked_fill(outside.unsqueeze(-1), 0.0);
  return dist::reduce_from_tp_region(rows, ctx_.tp);
}

torch::Tensor VocabParallelEmbeddingImpl::logits(const torch::Tensor& h) {
  return F::linear(dist::copy_to_tp_region(h, ctx_.tp), weight);
}

torch::Tensor vocab_parallel_cross_entropy(const torch::Tensor& logits_local,
                                           const torch::Tensor& labels, const ParallelContext& ctx,
                                           int64_t ignore_index) {
  GENSAR_CHECK(logits_local.dim() == 2 && labels.dim() == 1 &&
                   logits_local.size(0) == labels.size(0),
               "cross-entropy wants logits [N, V] and labels [N], got {} and {}",
               c10::str(logits_local.sizes()), c10::str(labels.sizes()));
  const auto ignored = labels == ignore_index;
  if (ctx.size() == 1) {
    return F::cross_entropy(logits_local, labels,
                            F::CrossEntropyFuncOptions().reduction(torch::kNone).ignore_index(
                                ignore_index));
  }
  // Megatron's formulation: a global max for stability (no gradient), the target logit from the
  // rank that owns it, and the global sum of exponentials, each all-reduced.
  const int64_t local_vocab = logits_local.size(1);
  const int64_t start = ctx.rank() * local_vocab;
  auto max = dist::all_reduce_max(std::get<0>(logits_local.detach().max(1, true)), ctx.tp);
  auto shifted = logits_local - max;
  auto local_label = labels - start;
  auto outside = ignored | (local_label < 0) | (local_label >= local_vocab);
  auto picked = shifted.gather(1, local_label.masked_fill(outside, 0).unsqueeze(1)).squeeze(1);
  picked = dist::reduce_from_tp_region(picked.masked_fill(outside, 0.0), ctx.tp);
  auto sum_exp = dist::reduce_from_tp_region(shifted.exp().sum(1), ctx.tp);
  return (sum_exp.log() - picked).masked_fill(ignored, 0.0);
}

}  // namespace gensar::model
