#include "core/tensor_parallel/layers.h"

#include <torch/torch.h>

#include "core/common/check.h"
#include "core/common/cpu_gemm.h"

namespace gensar::tp {
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
  weight = register_partitioned(
      *this, "weight", torch::empty({split(out, ctx_.size(), "column-parallel output"), in}), 0);
}

torch::Tensor ColumnParallelLinearImpl::forward(const torch::Tensor& x) {
  return forward_in_region(copy_to_tp_region(x, ctx_.tp));
}

torch::Tensor ColumnParallelLinearImpl::forward_in_region(const torch::Tensor& x) {
  return gemm::linear(x, weight);
}

RowParallelLinearImpl::RowParallelLinearImpl(int64_t in, int64_t out, ParallelContext ctx)
    : ctx_(std::move(ctx)) {
  weight = register_partitioned(
      *this, "weight", torch::empty({out, split(in, ctx_.size(), "row-parallel input")}), 1);
}

torch::Tensor RowParallelLinearImpl::forward(const torch::Tensor& x_local) {
  return reduce_from_tp_region(gemm::linear(x_local, weight), ctx_.tp);
}

VocabParallelEmbeddingImpl::VocabParallelEmbeddingImpl(int64_t vocab, int64_t dim,
                                                       ParallelContext ctx)
    : ctx_(std::move(ctx)) {
  local_vocab_ = split(vocab, ctx_.size(), "vocabulary");
  vocab_start_ = ctx_.rank() * local_vocab_;
  weight = register_partitioned(*this, "weight", torch::empty({local_vocab_, dim}), 0);
}

torch::Tensor VocabParallelEmbeddingImpl::forward(const torch::Tensor& ids) {
  if (ctx_.size() == 1) return F::embedding(ids, weight);
  // Rows owned by other ranks look up row 0 and are zeroed; the all-reduce fills them in.
  auto local = ids - vocab_start_;
  auto outside = (local < 0) | (local >= local_vocab_);
  auto rows = F::embedding(local.masked_fill(outside, 0), weight);
  rows = rows.masked_fill(outside.unsqueeze(-1), 0.0);
  return reduce_from_tp_region(rows, ctx_.tp);
}

torch::Tensor VocabParallelEmbeddingImpl::logits(const torch::Tensor& h) {
  return gemm::linear(copy_to_tp_region(h, ctx_.tp), weight);
}

}  // namespace gensar::tp
