// Megatron-style tensor-parallel autograd functions (Megatron-LM core/tensor_parallel/mappings.py)
// on a TP-group communicator.
//
// Each is the identity (forward and backward) when `tp` is null or has size 1, so a model built
// from them runs unchanged in a single process.
//   copy_to_tp_region:     forward identity,            backward all-reduce (sum)
//   reduce_from_tp_region: forward all-reduce (sum),    backward identity
//   gather_from_tp_region: forward all-gather on `dim`, backward keep this rank's slice
//   scatter_to_tp_region:  forward keep this rank's slice of `dim`, backward all-gather
// Collectives inside backward run on the thread that called backward() (LibTorch runs CPU
// backward on the calling thread), in the same order on every rank of the group.
#pragma once

#include <torch/types.h>

#include <memory>

#include "distributed/communicator.h"

namespace gensar::tp {

using CommunicatorPtr = std::shared_ptr<dist::Communicator>;

inline int tp_size(const CommunicatorPtr& tp) { return tp ? tp->size() : 1; }
inline int tp_rank(const CommunicatorPtr& tp) { return tp ? tp->rank() : 0; }

torch::Tensor copy_to_tp_region(const torch::Tensor& x, const CommunicatorPtr& tp);
torch::Tensor reduce_from_tp_region(const torch::Tensor& x, const CommunicatorPtr& tp);
torch::Tensor gather_from_tp_region(const torch::Tensor& x, const CommunicatorPtr& tp,
                                    int64_t dim = -1);
torch::Tensor scatter_to_tp_region(const torch::Tensor& x, const CommunicatorPtr& tp,
                                   int64_t dim = -1);

// Plain collectives without autograd: concatenation of every rank's `x` along `dim`, and the max.
torch::Tensor all_gather_along(const torch::Tensor& x, dist::Communicator& comm, int64_t dim);
torch::Tensor all_reduce_max(const torch::Tensor& x, const CommunicatorPtr& tp);

}  // namespace gensar::tp
